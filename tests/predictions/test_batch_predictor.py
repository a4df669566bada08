"""The out-of-memory backoff of batch inference: the batch is halved until it fits and stays
halved, down to one image. The only fake here is the injected MemoryError."""

from __future__ import annotations

import pytest
from PIL import Image

from workers.engines.backoff import OutOfMemoryAtFloor
from workers.engines.base import Prediction
from workers.engines.inference import BatchPredictor


class FitsUpTo:
    """An engine whose batches of more than `limit` images run out of memory."""

    def __init__(self, limit: int):
        self.limit, self.batches = limit, []

    def predict(self, images):
        if len(images) > self.limit:
            raise MemoryError(f"{len(images)} images do not fit")
        self.batches.append(len(images))
        return [[Prediction(str(image.width), 1.0)] for image in images]


def _images(count: int) -> list[Image.Image]:
    return [Image.new("L", (n + 1, 1)) for n in range(count)]


def test_a_batch_too_large_is_halved_until_it_fits_and_every_image_is_predicted_in_order():
    engine, reduced = FitsUpTo(5), []
    predictor = BatchPredictor(engine, 32, on_reduced=lambda old, new: reduced.append((old, new)))
    results = predictor.predict(_images(20))
    assert [found[0].class_name for found in results] == [str(n + 1) for n in range(20)]
    assert reduced == [(32, 16), (16, 8), (8, 4)]
    assert predictor.batch_size == 4 and engine.batches == [4, 4, 4, 4, 4]
    predictor.predict(_images(3))
    assert reduced == [(32, 16), (16, 8), (8, 4)]  # the next chunk starts at the smaller size


def test_out_of_memory_at_one_image_gives_up():
    predictor = BatchPredictor(FitsUpTo(0), 4, on_reduced=lambda old, new: None)
    with pytest.raises(OutOfMemoryAtFloor):
        predictor.predict(_images(2))


def test_an_error_that_is_not_out_of_memory_is_not_retried():
    class Broken(FitsUpTo):
        def predict(self, images):
            raise ValueError("a bug")

    predictor = BatchPredictor(Broken(8), 4, on_reduced=lambda old, new: pytest.fail("halved"))
    with pytest.raises(ValueError, match="a bug"):
        predictor.predict(_images(2))
