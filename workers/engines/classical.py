"""scikit-learn classifiers on the grayscale pixels of each image.

scikit-learn fits in memory, so the features (image_size² float32 per row) are gathered
from the rows in chunks first; progress is reported while they load, and the fit itself is
one call (it is not interrupted by a cancel, which takes effect once it returns).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import joblib
import numpy as np
from PIL import Image
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss

from apps.training.targets import Sample
from workers.engines.base import Engine, FitResult, Prediction, TrainingContext
from workers.engines.images import open_image

TOP_K = 5
_LOADING_BATCH = 256


class ClassicalEngine(Engine):
    def __init__(self, *, hyperparameters: dict, classes: Sequence[str]):
        super().__init__(hyperparameters=hyperparameters, classes=classes)
        self.estimator = None

    def build_estimator(self):
        raise NotImplementedError

    def features(self, image: Image.Image) -> np.ndarray:
        size = self.hyperparameters["image_size"]
        image = image if image.mode == "L" else image.convert("L")
        if image.size != (size, size):
            image = image.resize((size, size), Image.Resampling.BILINEAR)
        return np.asarray(image, dtype=np.float32).reshape(-1) / 255.0

    def _matrix(self, samples: Iterable[tuple[int, Sample]], report=None):
        rows, labels = [], []
        for _, sample in samples:
            rows.append(self.features(open_image(sample, "L")))
            labels.append(sample.target)
            if report is not None and len(rows) % _LOADING_BATCH == 0 and report(len(rows)):
                return None, None
        width = self.hyperparameters["image_size"] ** 2
        matrix = np.stack(rows) if rows else np.zeros((0, width), np.float32)
        return matrix, np.asarray(labels, dtype=np.int64)

    def fit(self, context: TrainingContext) -> FitResult:
        batches = max(1, math.ceil(context.train_count / _LOADING_BATCH))

        def loading(done: int) -> bool:
            context.report_progress(
                epoch=1, batch=done // _LOADING_BATCH, batches=batches, loss=None
            )
            return context.should_stop()

        x, y = self._matrix(context.train_samples(epoch=0), report=loading)
        if x is None:
            return FitResult(metrics={}, stopped=True)
        self.estimator = self.build_estimator()
        self.estimator.fit(x, y)
        metrics = {"train_loss": self._log_loss(x, y)} | self.evaluate(context.validation_samples())
        metrics = {name: round(float(value), 6) for name, value in metrics.items()}
        context.finish_epoch(
            self.save,
            epoch=1,
            metrics=metrics,
            score=metrics.get("val_accuracy", -metrics["train_loss"]),
            batch_size=_LOADING_BATCH,
        )
        return FitResult(metrics=metrics, stopped=context.should_stop())

    def _probabilities(self, x: np.ndarray) -> np.ndarray:
        """Probabilities over every class of the run, including any the fit never saw."""
        full = np.zeros((len(x), len(self.classes)), dtype=np.float64)
        full[:, self.estimator.classes_] = self.estimator.predict_proba(x)
        return full / full.sum(axis=1, keepdims=True)  # float32 estimators drift from 1

    def _log_loss(self, x: np.ndarray, y: np.ndarray) -> float:
        return log_loss(y, self._probabilities(x), labels=list(range(len(self.classes))))

    def evaluate(self, samples: Iterable[tuple[int, Sample]]) -> dict:
        x, y = self._matrix(samples)
        if len(y) == 0:
            return {}
        probabilities = self._probabilities(x)
        return {
            "val_loss": log_loss(y, probabilities, labels=list(range(len(self.classes)))),
            "val_accuracy": accuracy_score(y, probabilities.argmax(1)),
        }

    def predict(self, images: Sequence[Image.Image]) -> list[list[Prediction]]:
        probabilities = self._probabilities(np.stack([self.features(i) for i in images]))
        k = min(TOP_K, len(self.classes))
        best = np.argsort(-probabilities, axis=1)[:, :k]
        return [
            [Prediction(self.classes[i], float(row[i])) for i in top]
            for row, top in zip(probabilities, best, strict=True)
        ]

    def save(self, path: str) -> None:
        joblib.dump(
            {
                "spec": self.spec_name,
                "classes": self.classes,
                "hyperparameters": self.hyperparameters,
                "estimator": self.estimator,
            },
            path,
        )

    @classmethod
    def load(cls, path: str) -> ClassicalEngine:
        # Artifacts are written by Loupe's own workers under the tenant's storage prefix.
        state = joblib.load(path)
        engine = cls(hyperparameters=state["hyperparameters"], classes=state["classes"])
        engine.estimator = state["estimator"]
        return engine


def _depth(value: int) -> int | None:
    return value or None


class LogisticRegressionEngine(ClassicalEngine):
    spec_name = "logistic_regression"

    def build_estimator(self):
        hp = self.hyperparameters
        return LogisticRegression(C=hp["c"], max_iter=hp["max_iter"], random_state=hp["seed"])


class RandomForestEngine(ClassicalEngine):
    spec_name = "random_forest"

    def build_estimator(self):
        hp = self.hyperparameters
        return RandomForestClassifier(
            n_estimators=hp["n_estimators"],
            max_depth=_depth(hp["max_depth"]),
            random_state=hp["seed"],
            n_jobs=1,
        )


class HistGradientBoostingEngine(ClassicalEngine):
    spec_name = "hist_gradient_boosting"

    def build_estimator(self):
        hp = self.hyperparameters
        return HistGradientBoostingClassifier(
            learning_rate=hp["learning_rate"],
            max_iter=hp["max_iter"],
            max_depth=_depth(hp["max_depth"]),
            random_state=hp["seed"],
            early_stopping=False,
        )
