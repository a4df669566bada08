"""The spec registry and one conformance suite over every spec, classical and deep: each
fits on real images through a small real context, predicts without side effects, and comes
back from `save` through `load` predicting the same."""

from __future__ import annotations

import pytest
from django.test import override_settings
from PIL import Image

from apps.training.catalog import get_spec, list_specs, register_spec
from apps.training.demo_images import SHAPE_CLASSES
from apps.training.specs import InvalidHyperparameters, Task, validate_hyperparameters
from tenants.roles import Role
from tests.training.memory_context import MemoryContext, store_digits, store_shapes
from workers.engines.images import open_image
from workers.engines.registry import ENGINES, engine_for

NAMES = {
    "logistic_regression", "random_forest", "hist_gradient_boosting", "small_cnn", "resnet18",
    "fasterrcnn_mobilenet_v3",
}  # fmt: skip
# Just enough to run each engine's whole path on the CPU in seconds.
TINY = {
    "logistic_regression": {"max_iter": 50},
    "random_forest": {"n_estimators": 10},
    "hist_gradient_boosting": {"max_iter": 5},
    "small_cnn": {"epochs": 1, "batch_size": 16},
    "resnet18": {"epochs": 1, "batch_size": 16, "image_size": 32},
    "fasterrcnn_mobilenet_v3": {"epochs": 1, "batch_size": 2, "image_size": 64},
}


def test_the_api_lists_every_spec_with_its_hyperparameters(client_for, tenant, make_member):
    client = client_for(tenant, make_member(tenant, Role.VIEWER))
    specs = {spec["name"]: spec for spec in client.get("/api/v1/model-specs/").json()}
    assert set(specs) == NAMES
    cnn = specs["small_cnn"]
    assert (cnn["task"], cnn["family"]) == ("classification", "deep")
    assert cnn["hyperparameters"]["learning_rate"] | {"help": ""} == {
        "type": "float", "default": 0.001, "min": 0.0001, "max": 1.0, "choices": None,
        "help": "",
    }  # fmt: skip
    assert specs["fasterrcnn_mobilenet_v3"]["task"] == "detection"


def test_every_spec_has_an_engine_and_every_engine_a_spec():
    assert {spec.name for spec in list_specs()} == set(ENGINES) == NAMES


def test_a_spec_name_is_registered_once():
    with pytest.raises(ValueError, match="already registered"):
        register_spec(get_spec("small_cnn"))


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"learning_rate": 2.0}, "must be at most 1.0"),
        ({"epochs": 2.5}, "must be a whole number"),
        ({"epochs": True}, "must be a number (int)"),
        ({"optimizer": "lion"}, "must be one of adam, sgd"),
        ({"batch_size": "64"}, "must be a number (int)"),
    ],
)
def test_hyperparameters_out_of_their_range_are_named(values, problem):
    with pytest.raises(InvalidHyperparameters) as refused:
        validate_hyperparameters(get_spec("small_cnn"), values)
    assert refused.value.fields == {next(iter(values)): [problem]}


def test_hyperparameters_default_to_the_specs():
    values = validate_hyperparameters(get_spec("small_cnn"), {"epochs": 3})
    assert values == get_spec("small_cnn").defaults() | {"epochs": 3}


@pytest.fixture(scope="module")
def digit_samples():
    return store_digits(60)


@pytest.fixture(scope="module")
def shape_samples():
    return store_shapes(6)


@override_settings(TRAINING_LOADER_WORKERS=0)
@pytest.mark.parametrize("name", sorted(NAMES))
def test_every_spec_fits_predicts_and_round_trips_through_save_and_load(
    name, digit_samples, shape_samples, tmp_path
):
    spec = get_spec(name)
    detection = spec.task == Task.DETECTION
    samples = shape_samples if detection else digit_samples
    context = MemoryContext(
        spec=name,
        samples=samples[: len(samples) * 2 // 3],
        validation=samples[len(samples) * 2 // 3 :],
        hyperparameters=TINY[name],
        **({"classes": list(SHAPE_CLASSES)} if detection else {}),
    )
    engine = engine_for(name)(hyperparameters=context.hyperparameters, classes=context.classes)
    result = engine.fit(context)

    assert not result.stopped and [epoch for epoch, _ in context.epochs_finished] == [1]
    assert set(result.metrics) >= ({"val_map", "val_map50"} if detection else {"val_accuracy"})
    images = [open_image(sample, "RGB") for sample in samples[-2:]] + [Image.new("L", (20, 30))]
    predicted = engine.predict(images)
    assert engine.predict(images) == predicted  # no side effects
    assert len(predicted) == 3
    for predictions in predicted:
        assert all(p.class_name in context.classes and 0 <= p.score <= 1 for p in predictions)
        assert [p.score for p in predictions] == sorted(
            (p.score for p in predictions), reverse=True
        )
        assert all((p.bbox is not None) == detection for p in predictions)
    if not detection:
        assert all(len(predictions) >= 1 for predictions in predicted)

    engine.save(str(tmp_path / "model"))
    loaded = engine_for(name).load(str(tmp_path / "model"))
    assert loaded.classes == context.classes
    assert loaded.predict(images) == predicted
