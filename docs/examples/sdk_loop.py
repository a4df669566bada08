# %% [markdown]
# # The loop, through the Python SDK
#
# Import the demo digits, cut a slice, train a small model on it, run the version over the
# slice and online, evaluate it, then search its mistakes and cut the next slice from them.
# Each `# %%` is a cell (VS Code, Jupytext and PyCharm run them one at a time); run as a
# script, it goes from the first to the last.
#
# It reads where the platform is from the environment:
#
#     export LOUPE_URL=http://acme.localhost:8000        # the tenant's API
#     export LOUPE_API_KEY=lk_...                        # an editor's API key
#     export LOUPE_PREDICT_URL=http://acme.localhost:8001  # the predict server
#     .venv/bin/python docs/examples/sdk_loop.py
#
# `LOUPE_EXAMPLE_DIGITS` imports only the first N of the 1,797 digits (a quicker walk).
# It needs scikit-learn (for the digits) and Pillow (to write them as PNGs) besides
# `loupe-client`.

# %%
import io
import json
import os
import tempfile
import zipfile
from itertools import islice
from pathlib import Path

from loupe_client import Client
from PIL import Image
from sklearn.datasets import load_digits

loupe = Client.from_env()


def named(items, name: str):
    """The first item called `name`, or None: so the walk can run again on the same tenant."""
    return next((item for item in items if item["name"] == name), None)


me = loupe.me()
print(f"signed in to {me['tenant']['slug']} as {me['role']}")

# %% [markdown]
# ## Import the digits
# scikit-learn's 8x8 scans, written as 32x32 PNGs into a ZIP whose `manifest.jsonl` labels
# each image with its digit (a whole-image class). The import's live events move the bar.

# %%
DIGITS = int(os.environ.get("LOUPE_EXAMPLE_DIGITS", "1797"))


def digit_png(pixels) -> bytes:
    scaled = (pixels * (255 / 16)).round().astype("uint8")
    image = Image.fromarray(scaled, mode="L").resize((32, 32), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def digits_zip(path: Path, count: int) -> list[bytes]:
    """The first `count` digits, as the platform's ZIP import reads them; their PNGs."""
    scans = load_digits()
    pngs, manifest = [], []
    with zipfile.ZipFile(path, "w") as archive:
        for index in range(min(count, len(scans.images))):
            name = f"digit-{index:04d}.png"
            pngs.append(digit_png(scans.images[index]))
            archive.writestr(name, pngs[-1])
            label = {"class": str(int(scans.target[index]))}
            manifest.append({"external_id": name[:-4], "media_uri": name, "annotations": [label]})
        archive.writestr("manifest.jsonl", "".join(json.dumps(r) + "\n" for r in manifest))
    return pngs


project = named(loupe.projects.list(), "sdk loop") or loupe.projects.create("sdk loop")
dataset = named(loupe.datasets.list(project=project["id"]), "digits")
dataset = dataset or loupe.datasets.create(project["id"], "digits")

with tempfile.TemporaryDirectory() as folder:
    archive = Path(folder) / "digits.zip"
    pngs = digits_zip(archive, DIGITS)
    job = loupe.imports.wait(loupe.imports.upload(dataset["id"], archive), progress=True)
print(f"import {job['status']}: {job['created']} created, {job['unchanged']} unchanged")

# %% [markdown]
# ## A slice, and a small model trained on it
# A slice is a saved query (empty: every row); the run freezes it into a snapshot and trains
# on that. The bar walks each epoch's batches and a line of metrics follows each epoch.

# %%
slices = list(loupe.slices.list(dataset=dataset["id"]))
everything = named(slices, "all digits") or loupe.slices.create("all digits", dataset=dataset["id"])
run = loupe.training_runs.submit(
    slice=everything["id"],
    spec="small_cnn",
    model="digits-sdk",
    name="first cnn",
    hyperparameters={"epochs": 3},
)
run = loupe.training_runs.wait(run, progress=True)
assert run["status"] == "succeeded", run["error"]
version = loupe.models.get_version(run["model_version"])
print(f"registered {version['model']} version {version['version']}: {version['metrics']}")

# %% [markdown]
# ## Predictions: over the snapshot, and online
# An inference run stores the version's predictions on every row of the snapshot, where
# queries find them; the predict server answers one image at a time.

# %%
inference = loupe.inference_runs.submit(
    model_version=version["id"], slice=everything["id"], snapshot=run["snapshot"]
)
inference = loupe.inference_runs.wait(inference, progress=True)
print(f"inference {inference['status']}: {inference['predictions_written']} predictions")

first_row = next(iter(loupe.slices.snapshot_rows(everything["id"], run["snapshot"], page_size=1)))
by_row = loupe.predict(version["model"], version["version"], row=first_row["id"])
by_image = loupe.predict(version["model"], version["version"], image=pngs[0])
print(
    f"online: row {first_row['external_id']} is a {by_row['predictions'][0]['class']}, "
    f"its image alone a {by_image['predictions'][0]['class']}"
)

# %% [markdown]
# ## Evaluate, then search the mistakes
# The evaluation judges each top prediction against the row's label (`tp` or `fp`); the
# query language reaches those verdicts and scores.

# %%
evaluation = loupe.evaluations.wait(
    loupe.evaluations.create(
        model_version=version["id"], slice=everything["id"], snapshot=run["snapshot"]
    )
)
print(f"accuracy {evaluation['metrics']['accuracy']:.3f} on {evaluation['rows_total']} rows")

HARD = (
    f"prediction(model = '{version['model']}' AND version = {version['version']} "
    "AND (eval = 'fp' OR (rank = 0 AND score < 0.6)))"
)
hard = loupe.search(HARD, datasets=[dataset["id"]], backend="postgres")
print(f"{hard.total} rows the model got wrong or was unsure of")
for row in islice(hard, 5):
    print(f"  {row['external_id']}: labelled {row['annotations'][0]['class_name']}")

# %% [markdown]
# ## The next slice
# Those rows are the next thing to learn: a slice of them, frozen into a snapshot (read from
# Postgres, so the verdicts just written are all there), ready for a run that warm-starts
# from this version: `submit(slice=..., snapshot=..., parent_version=version["id"])`.

# %%
next_slice = named(slices, "hard digits")
if next_slice:
    next_slice = loupe.slices.update(next_slice["id"], query=HARD)
else:
    next_slice = loupe.slices.create("hard digits", dataset=dataset["id"], query=HARD)
frozen = loupe.slices.snapshot(next_slice["id"])
print(f"next slice {next_slice['id']}, snapshot {frozen['number']}: {frozen['row_count']} rows")
loupe.close()
