"""Every model spec Loupe can train, registered here and nowhere else, and looked up here
(so a lookup always sees every spec). Each name has an engine in workers/engines/registry.py."""

from __future__ import annotations

from apps.training.specs import Family, Hyperparameter, ModelSpec, Task

_REGISTRY: dict[str, ModelSpec] = {}


def register_spec(spec: ModelSpec) -> ModelSpec:
    """Add a spec; a name registered twice is an error, never a silent overwrite."""
    if spec.name in _REGISTRY:
        raise ValueError(f"a model spec named {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def get_spec(name: str) -> ModelSpec | None:
    return _REGISTRY.get(name)


def list_specs() -> list[ModelSpec]:
    return sorted(_REGISTRY.values(), key=lambda spec: spec.name)


SEED = Hyperparameter(
    "seed", int, 0, min=0, max=2**31 - 1, help="seeds the split, the shuffle and the weights"
)
VALIDATION_FRACTION = Hyperparameter(
    "validation_fraction", float, 0.2, min=0.05, max=0.5, help="rows held out, chosen by row id"
)


def _image_size(default: int, low: int = 8) -> Hyperparameter:
    return Hyperparameter(
        "image_size", int, default, min=low, max=1024, help="images are resized to this square"
    )


# The ranges follow the platform's validated training configs (epochs 1-100, learning
# rate 0.0001-1.0, batch 1-512).
DEEP = (
    Hyperparameter("epochs", int, 5, min=1, max=100),
    Hyperparameter("learning_rate", float, 0.001, min=0.0001, max=1.0),
    Hyperparameter("batch_size", int, 64, min=1, max=512),
    Hyperparameter("weight_decay", float, 0.0, min=0.0, max=0.1),
    Hyperparameter("optimizer", str, "adam", choices=("adam", "sgd")),
    Hyperparameter("scheduler", str, "cosine", choices=("cosine", "none")),
    SEED,
    VALIDATION_FRACTION,
)
CLASSICAL = (_image_size(32), SEED, VALIDATION_FRACTION)

LOGISTIC_REGRESSION = register_spec(
    ModelSpec(
        name="logistic_regression",
        task=Task.CLASSIFICATION,
        family=Family.CLASSICAL,
        description="scikit-learn logistic regression on the grayscale pixels",
        hyperparameters=(
            *CLASSICAL,
            Hyperparameter("c", float, 1.0, min=0.0001, max=10_000.0, help="inverse penalty"),
            Hyperparameter("max_iter", int, 200, min=10, max=10_000),
        ),
    )
)
RANDOM_FOREST = register_spec(
    ModelSpec(
        name="random_forest",
        task=Task.CLASSIFICATION,
        family=Family.CLASSICAL,
        description="scikit-learn random forest on the grayscale pixels",
        hyperparameters=(
            *CLASSICAL,
            Hyperparameter("n_estimators", int, 200, min=1, max=2000),
            Hyperparameter("max_depth", int, 0, min=0, max=100, help="0: unlimited"),
        ),
    )
)
HIST_GRADIENT_BOOSTING = register_spec(
    ModelSpec(
        name="hist_gradient_boosting",
        task=Task.CLASSIFICATION,
        family=Family.CLASSICAL,
        description="scikit-learn histogram gradient boosting on the grayscale pixels",
        hyperparameters=(
            *(h for h in CLASSICAL if h.name != "image_size"),
            _image_size(16),
            Hyperparameter("learning_rate", float, 0.1, min=0.0001, max=1.0),
            Hyperparameter("max_iter", int, 100, min=1, max=2000),
            Hyperparameter("max_depth", int, 0, min=0, max=100, help="0: unlimited"),
        ),
    )
)
SMALL_CNN = register_spec(
    ModelSpec(
        name="small_cnn",
        task=Task.CLASSIFICATION,
        family=Family.DEEP,
        description="a small convolutional network (two conv blocks, two linear layers), torch",
        hyperparameters=(*DEEP, _image_size(32)),
    )
)
RESNET18 = register_spec(
    ModelSpec(
        name="resnet18",
        task=Task.CLASSIFICATION,
        family=Family.DEEP,
        description="torchvision ResNet-18 trained from scratch (weights=None)",
        hyperparameters=(*DEEP, _image_size(64, low=32)),
    )
)
FASTERRCNN = register_spec(
    ModelSpec(
        name="fasterrcnn_mobilenet_v3",
        task=Task.DETECTION,
        family=Family.DEEP,
        description=(
            "torchvision Faster R-CNN, MobileNetV3-Large 320 FPN backbone, trained from "
            "scratch (weights=None, weights_backbone=None); learns the rows' bbox annotations"
        ),
        hyperparameters=(
            *(h for h in DEEP if h.name not in ("batch_size", "learning_rate", "optimizer")),
            Hyperparameter("batch_size", int, 4, min=1, max=512),
            Hyperparameter("learning_rate", float, 0.01, min=0.0001, max=1.0),
            Hyperparameter("optimizer", str, "sgd", choices=("adam", "sgd")),
            _image_size(320, low=64),
            Hyperparameter(
                "score_threshold", float, 0.05, min=0.0, max=1.0, help="lowest score predicted"
            ),
        ),
    )
)
