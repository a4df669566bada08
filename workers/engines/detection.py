"""Object detection: torchvision's Faster R-CNN on a MobileNetV3-Large FPN backbone, trained
from scratch (nothing is downloaded). Label 0 is the background; class index i is label i + 1.

Every image is resized to an `image_size` square, its boxes with it, so a batch stacks and
the detector's own resize does nothing; predictions are scaled back to each image's pixels.
Scored by validation COCO mAP@[.5:.95].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torchvision
from PIL import Image
from torch import nn

from apps.predictions.coco_metrics import detection_map
from apps.training.targets import Sample
from workers.engines.base import Prediction
from workers.engines.deep import DeepEngine
from workers.engines.images import open_image


class FasterRCNNMobileNet(DeepEngine):
    spec_name = "fasterrcnn_mobilenet_v3"

    def build_model(self) -> nn.Module:
        size = self.hyperparameters["image_size"]
        return torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(
            weights=None,
            weights_backbone=None,
            num_classes=len(self.classes) + 1,
            min_size=size,
            max_size=size,
            box_score_thresh=self.hyperparameters["score_threshold"],
        )

    def tensor(self, image: Image.Image) -> torch.Tensor:
        """CHW float RGB in [0, 1] at `image_size` square (the detector normalises it)."""
        size = self.hyperparameters["image_size"]
        image = image if image.mode == "RGB" else image.convert("RGB")
        if image.size != (size, size):
            image = image.resize((size, size), Image.Resampling.BILINEAR)
        return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)

    def prepare_train(self, sample: Sample) -> tuple[torch.Tensor, dict]:
        image = open_image(sample, "RGB")
        size = self.hyperparameters["image_size"]
        sx, sy = size / image.width, size / image.height
        boxes = torch.tensor(
            [[x * sx, y * sy, (x + w) * sx, (y + h) * sy] for _, x, y, w, h in sample.target],
            dtype=torch.float32,
        ).reshape(-1, 4)
        labels = torch.tensor([c + 1 for c, *_ in sample.target], dtype=torch.int64)
        # A box reaching past the image is cut at its edge; one wholly outside is dropped
        # (the detector refuses boxes without area).
        boxes = boxes.clamp(0, size)
        kept = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        return self.tensor(image), {"boxes": boxes[kept], "labels": labels[kept]}

    prepare_eval = prepare_train

    def loss(self, model, images, targets, device) -> torch.Tensor:
        targets = [{k: v.to(device, non_blocking=True) for k, v in t.items()} for t in targets]
        losses = model(list(images), targets)
        return sum(losses.values())

    @torch.no_grad()
    def validate(self, model, loader, device) -> dict:
        """val_map and val_map50 (COCO), in the resized images' pixels: IoU does not change
        when both axes are scaled."""
        model.eval()
        predictions, ground_truth = [], []
        for _, images, targets in loader:
            outputs = model(list(self.to_device(images, device)))
            predictions += [_detections(output) for output in outputs]
            ground_truth += [_boxes(target) for target in targets]
        model.train()
        if not ground_truth:
            return {}
        result = detection_map(predictions, ground_truth, num_classes=len(self.classes))
        return {"val_map": result["map"], "val_map50": result["map50"]}

    def score(self, metrics: dict) -> float:
        return metrics["val_map"] if "val_map" in metrics else -metrics["train_loss"]

    @torch.no_grad()
    def predict(self, images: Sequence[Image.Image]) -> list[list[Prediction]]:
        self.model.eval()
        if not images:
            return []
        size = self.hyperparameters["image_size"]
        batch = [self.tensor(image).to(self.device) for image in images]
        results = []
        for image, output in zip(images, self.model(batch), strict=True):
            sx, sy = image.width / size, image.height / size
            found = sorted(_detections(output), key=lambda d: -d[1])
            results.append(
                [
                    Prediction(self.classes[c], score, bbox=(x * sx, y * sy, w * sx, h * sy))
                    for c, score, x, y, w, h in found
                ]
            )
        return results


def _detections(output: dict) -> list[tuple[int, float, float, float, float, float]]:
    """The detector's output for one image as (class index, score, x, y, w, h)."""
    boxes = output["boxes"].float().cpu().tolist()
    labels = output["labels"].cpu().tolist()
    scores = output["scores"].float().cpu().tolist()
    return [
        (label - 1, score, x1, y1, x2 - x1, y2 - y1)
        for (x1, y1, x2, y2), label, score in zip(boxes, labels, scores, strict=True)
    ]


def _boxes(target: dict) -> list[tuple[int, float, float, float, float]]:
    """A prepared target's boxes as (class index, x, y, w, h)."""
    return [
        (label - 1, x1, y1, x2 - x1, y2 - y1)
        for (x1, y1, x2, y2), label in zip(
            target["boxes"].tolist(), target["labels"].tolist(), strict=True
        )
    ]
