"""docs/examples/sdk_loop.py, run as a reader would run it: against the real platform, its
URL and credentials in the environment, from the import of the digits to the next slice cut
from the model's mistakes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "sdk_loop.py"


@pytest.mark.timeout(600)
def test_the_sdk_loop_example_runs_from_import_to_the_next_slice(
    celery_worker, gpu_worker, api_url, api_key, predict_url, tmp_path
):
    env = {
        **os.environ,
        "LOUPE_URL": api_url,
        "LOUPE_API_KEY": api_key,
        "LOUPE_PREDICT_URL": predict_url,
        "LOUPE_EXAMPLE_DIGITS": "400",
    }
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], env=env, capture_output=True, text=True, timeout=540
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "import succeeded: 400 created" in out
    assert "registered digits-sdk version 1" in out
    assert "inference succeeded" in out
    assert re.search(r"online: row digit-\d+ is a \d, its image alone a \d", out)
    assert re.search(r"accuracy 0\.\d+ on 400 rows", out)
    assert re.search(r"next slice \d+, snapshot 1: \d+ rows", out)
