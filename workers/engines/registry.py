"""The engine behind each model spec, by the spec's name (apps/training/catalog.py)."""

from __future__ import annotations

from workers.engines.base import Engine
from workers.engines.classical import (
    HistGradientBoostingEngine,
    LogisticRegressionEngine,
    RandomForestEngine,
)
from workers.engines.classifiers import ResNet18, SmallCNN
from workers.engines.detection import FasterRCNNMobileNet

ENGINES: dict[str, type[Engine]] = {
    engine.spec_name: engine
    for engine in (
        LogisticRegressionEngine,
        RandomForestEngine,
        HistGradientBoostingEngine,
        SmallCNN,
        ResNet18,
        FasterRCNNMobileNet,
    )
}


def engine_for(spec_name: str) -> type[Engine]:
    return ENGINES[spec_name]
