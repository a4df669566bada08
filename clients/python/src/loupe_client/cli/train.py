"""`loupe train --slice ID --spec S`: submit a training run, and with --follow watch it to
its end, a line of metrics per finished epoch."""

from __future__ import annotations

import json

import click

from loupe_client.cli.config import client_from_settings
from loupe_client.cli.exit_codes import ExitCode
from loupe_client.cli.output import emit, json_option
from loupe_client.shapes import TrainingRun


def _parameter(value: str) -> tuple[str, object]:
    """`k=v`, the value read as JSON when it is JSON (`epochs=5`, `seed=0`, `amp=true`),
    else kept as text (`optimizer=sgd`)."""
    name, sep, text = value.partition("=")
    if not sep or not name:
        raise click.BadParameter(f"{value!r} is not NAME=VALUE", param_hint="--param")
    try:
        return name, json.loads(text)
    except ValueError:
        return name, text


@click.command()
@click.option("--slice", "slice_id", type=int, required=True, help="The slice's id.")
@click.option(
    "--spec", required=True, help="A model spec, e.g. small_cnn (see the API's /model-specs/)."
)
@click.option(
    "--model", help="The model the version is registered under (default: the spec's name)."
)
@click.option("--name", help="The run's name.")
@click.option(
    "--param", "params", multiple=True, metavar="NAME=VALUE", help="A hyperparameter (repeat)."
)
@click.option("--snapshot", type=int, help="A snapshot's number (default: the slice frozen now).")
@click.option("--experiment", help="An experiment to group the run with.")
@click.option("--parent-version", type=int, help="A model version's id to warm-start from.")
@click.option("--follow", is_flag=True, help="Watch the run until it ends.")
@click.option("-q", "--quiet", is_flag=True, help="With --follow: no progress bar or epoch lines.")
@json_option
@click.pass_context
def train(
    ctx: click.Context,
    slice_id: int,
    spec: str,
    model: str | None,
    name: str | None,
    params: tuple[str, ...],
    snapshot: int | None,
    experiment: str | None,
    parent_version: int | None,
    follow: bool,
    quiet: bool,
) -> None:
    """Train SPEC on a slice. With --follow, a progress bar walks each epoch's batches and a
    line of metrics is printed as each epoch finishes (both on standard error); it exits 6
    unless the run succeeds."""
    hyperparameters = dict(_parameter(p) for p in params)
    with client_from_settings() as client:
        run = client.training_runs.submit(
            slice=slice_id,
            spec=spec,
            name=name,
            model=model,
            hyperparameters=hyperparameters,
            snapshot=snapshot,
            experiment=experiment,
            parent_version=parent_version,
        )
        if follow:
            run = client.training_runs.wait(run, progress=not quiet)
    emit(run, lambda: _summary(run))
    if follow and run["status"] != "succeeded":
        ctx.exit(ExitCode.JOB_FAILED)


def _summary(run: TrainingRun) -> str:
    head = f"training run {run['id']} {run['status']}"
    where = f"{run['spec']} on slice {run['slice']}, snapshot {run['snapshot']}"
    if run["status"] == "succeeded":
        figures = "  ".join(f"{k} {v:.4f}" for k, v in sorted(run["metrics"].items()))
        return f"{head}: {run['model']} version id {run['model_version']} ({where})\n{figures}"
    if run["error"]:
        return f"{head} ({where}): {run['error']}"
    return f"{head} ({where})"
