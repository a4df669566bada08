"""What every torch engine shares: fit through the loop, save and load as state dicts with
plain JSON beside them (loaded with weights_only=True, no pickled objects), warm starts."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from workers.engines import loop
from workers.engines.base import Engine, FitResult, TrainingContext
from workers.engines.loaders import EpochBatches, make_loader, shut_down


class DeepEngine(Engine):
    """A torch engine: subclasses build `model` and say how to prepare, lose and validate."""

    def __init__(self, *, hyperparameters: dict, classes: Sequence[str]):
        super().__init__(hyperparameters=hyperparameters, classes=classes)
        # The seed fixes the initial weights without touching the process's random state.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.hyperparameters["seed"])
            self.model = self.build_model()
        self.device = torch.device("cpu")

    def build_model(self) -> torch.nn.Module:
        raise NotImplementedError

    def fit(self, context: TrainingContext) -> FitResult:
        self.device = torch.device(context.device)
        result = loop.fit(self, context)
        self.model.eval()
        return result

    def evaluate(self, samples) -> dict:
        sampler = EpochBatches(self.hyperparameters["batch_size"])
        sampler.walk(lambda: samples)
        loader = make_loader(sampler, self.prepare_eval, device=str(self.device))
        try:
            return self.validate(self.model, loader, self.device)
        finally:
            shut_down(loader)

    def to_device(self, images, device: torch.device):
        if isinstance(images, list):
            return [image.to(device, non_blocking=True) for image in images]
        return images.to(device, non_blocking=True)

    def save(self, path: str) -> None:
        torch.save(
            {
                "spec": self.spec_name,
                "classes": self.classes,
                "hyperparameters": self.hyperparameters,
                "model": {k: v.cpu() for k, v in self.model.state_dict().items()},
            },
            path,
        )

    @classmethod
    def load(cls, path: str, device: str = "cpu") -> DeepEngine:
        state = torch.load(path, map_location="cpu", weights_only=True)
        engine = cls(hyperparameters=state["hyperparameters"], classes=state["classes"])
        engine.model.load_state_dict(state["model"])
        engine.device = torch.device(device)
        engine.model.to(engine.device).eval()
        return engine

    def warm_start(self, path: str) -> None:
        """Take every weight of the parent whose name and shape match; a head sized for
        another class list starts afresh."""
        parent = torch.load(path, map_location="cpu", weights_only=True)["model"]
        own = self.model.state_dict()
        matching = {k: v for k, v in parent.items() if k in own and own[k].shape == v.shape}
        self.model.load_state_dict(matching, strict=False)
