"""The ``noisetrace`` command: one sub-command per pipeline stage.

Each command lives in its own module and is registered here; the modules import no logic beyond
one library call per command.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="noisetrace",
    help="Facial manipulation detection with SRM noise residuals and temporal features.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """noisetrace: dataset folders → face crops → detectors → generalization tables."""


def _register() -> None:
    from noisetrace.cli import demo as demo_cli
    from noisetrace.cli import evaluate as evaluate_cli
    from noisetrace.cli import extract as extract_cli
    from noisetrace.cli import index as index_cli
    from noisetrace.cli import models as models_cli
    from noisetrace.cli import predict as predict_cli
    from noisetrace.cli import protocol as protocol_cli
    from noisetrace.cli import synth as synth_cli
    from noisetrace.cli import train as train_cli

    app.command("index")(index_cli.index)
    app.command("extract")(extract_cli.extract)
    app.command("review")(extract_cli.review)
    app.command("train")(train_cli.train)
    app.command("synth")(synth_cli.synth)
    app.command("evaluate")(evaluate_cli.evaluate)
    app.command("predict")(predict_cli.predict)
    app.command("models")(models_cli.models)
    app.add_typer(protocol_cli.app, name="protocol")
    app.command("report")(protocol_cli.report)
    app.command("demo")(demo_cli.demo)


_register()
