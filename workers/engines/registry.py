"""The engine behind each model spec, by the spec's name (apps/training/catalog.py)."""

from __future__ import annotations

from workers.engines.base import Engine
from workers.engines.classical import (
    HistGradientBoostingEngine,
    LogisticRegressionEngine,
    RandomForestEngine,
)
from workers.engines.classifiers import ResNet18, SmallCNN
from workers.engines.deep import DeepEngine
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


def load_engine(spec_name: str, path: str, *, device: str = "cpu") -> Engine:
    """The saved engine at `path`, ready to predict on `device` (classical engines run on
    the CPU whatever it is)."""
    engine_class = engine_for(spec_name)
    if issubclass(engine_class, DeepEngine):
        return engine_class.load(path, device=device)
    return engine_class.load(path)
