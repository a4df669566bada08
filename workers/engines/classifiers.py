"""Deep image classifiers: a small CNN and torchvision's ResNet-18, trained from scratch."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torchvision
from PIL import Image
from torch import nn

from apps.training.targets import Sample
from workers.engines.base import Prediction
from workers.engines.deep import DeepEngine
from workers.engines.images import open_image

TOP_K = 5


class ImageClassifier(DeepEngine):
    """Cross-entropy over the class list; the image resized to `image_size`, scaled to
    [-1, 1]. Scored by validation accuracy."""

    mode = "RGB"

    def pixels(self, image: Image.Image) -> torch.Tensor:
        """CHW uint8 at `image_size` square: a quarter of the float's bytes to move between
        processes and to the device, scaled there a whole batch at a time (`to_device`)."""
        size = self.hyperparameters["image_size"]
        image = image if image.mode == self.mode else image.convert(self.mode)
        if image.size != (size, size):
            image = image.resize((size, size), Image.Resampling.BILINEAR)
        pixels = torch.from_numpy(np.array(image))
        return pixels.unsqueeze(0) if pixels.ndim == 2 else pixels.permute(2, 0, 1)

    def to_device(self, images: torch.Tensor, device: torch.device) -> torch.Tensor:
        """The batch on the device, scaled to [-1, 1]."""
        return images.to(device, non_blocking=True).float().div_(127.5).sub_(1.0)

    def prepare_train(self, sample: Sample) -> tuple[torch.Tensor, int]:
        return self.pixels(open_image(sample, self.mode)), sample.target

    prepare_eval = prepare_train

    def loss(self, model, images, targets, device) -> torch.Tensor:
        labels = torch.as_tensor(targets, device=device)
        return nn.functional.cross_entropy(model(images), labels)

    @torch.no_grad()
    def validate(self, model, loader, device) -> dict:
        model.eval()
        loss_sum, correct, seen = 0.0, 0, 0
        for _, images, targets in loader:
            labels = torch.as_tensor(targets, device=device)
            logits = model(self.to_device(images, device))
            loss_sum += float(nn.functional.cross_entropy(logits, labels, reduction="sum"))
            correct += int((logits.argmax(1) == labels).sum())
            seen += len(targets)
        model.train()
        if seen == 0:
            return {}
        return {"val_loss": loss_sum / seen, "val_accuracy": correct / seen}

    def score(self, metrics: dict) -> float:
        return metrics["val_accuracy"] if "val_accuracy" in metrics else -metrics["train_loss"]

    @torch.no_grad()
    def predict(self, images: Sequence[Image.Image]) -> list[list[Prediction]]:
        self.model.eval()
        batch = self.to_device(torch.stack([self.pixels(image) for image in images]), self.device)
        scores = torch.softmax(self.model(batch).float(), dim=1)
        top = scores.topk(min(TOP_K, len(self.classes)), dim=1)
        return [
            [Prediction(self.classes[i], float(s)) for s, i in zip(row_s, row_i, strict=True)]
            for row_s, row_i in zip(top.values.tolist(), top.indices.tolist(), strict=True)
        ]


class SmallCNN(ImageClassifier):
    spec_name = "small_cnn"
    mode = "L"

    def build_model(self) -> nn.Module:
        size = self.hyperparameters["image_size"]
        flat = 64 * (size // 4) * (size // 4)
        return nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(flat, 128),
            nn.ReLU(),
            nn.Linear(128, len(self.classes)),
        )


class ResNet18(ImageClassifier):
    spec_name = "resnet18"

    def build_model(self) -> nn.Module:
        return torchvision.models.resnet18(weights=None, num_classes=len(self.classes))
