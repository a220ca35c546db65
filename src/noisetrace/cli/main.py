"""The ``noisetrace`` command: one sub-command per pipeline stage.

Each command lives in its own module, registered here by name and imported only when it runs: the
stages' libraries differ widely in what they load (``noisetrace extract`` needs PyTorch and OpenCV,
``noisetrace train`` also Lightning and timm, several seconds more), so a command starts with only
what it uses. The modules import no logic beyond one library call per command.
"""

from __future__ import annotations

import importlib

import click
import typer
from typer.core import TyperGroup

# name → (module, attribute): a command function, or a Typer app of sub-commands. Listed in --help in
# this order: the pipeline's.
COMMANDS: dict[str, tuple[str, str]] = {
    "index": ("noisetrace.cli.index", "index"),
    "extract": ("noisetrace.cli.extract", "extract"),
    "review": ("noisetrace.cli.extract", "review"),
    "train": ("noisetrace.cli.train", "train"),
    "synth": ("noisetrace.cli.synth", "synth"),
    "evaluate": ("noisetrace.cli.evaluate", "evaluate"),
    "predict": ("noisetrace.cli.predict", "predict"),
    "models": ("noisetrace.cli.models", "models"),
    "protocol": ("noisetrace.cli.protocol", "app"),
    "report": ("noisetrace.cli.protocol", "report"),
    "demo": ("noisetrace.cli.demo", "demo"),
}


class _Commands(TyperGroup):
    """The sub-commands of :data:`COMMANDS`, each built from its module when first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name]
        target = getattr(importlib.import_module(module), attribute)
        if not isinstance(target, typer.Typer):
            single = typer.Typer()
            single.command(name)(target)
            target = single
        command = typer.main.get_command(target)
        command.name = name
        return command


app = typer.Typer(
    name="noisetrace",
    cls=_Commands,
    help="Facial manipulation detection with SRM noise residuals and temporal features.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """noisetrace: dataset folders → face crops → detectors → generalization tables."""
