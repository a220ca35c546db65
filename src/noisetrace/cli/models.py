"""``noisetrace models``: the detectors inside the package and their model cards."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from noisetrace.cli._common import user_errors_exit
from noisetrace.pretrained import list_shipped_models, model_card, shipped_checkpoint


def format_card(name: str, description: dict[str, Any]) -> str:
    """The card as a reader wants it on a terminal: what it is, what it learned from, how it does."""
    card = description.get("card", {})
    model = description.get("model", {})
    data = card.get("training_data", {})
    lines = [
        f"{name}  ({shipped_checkpoint(name)})",
        f"  {card.get('headline', '')}",
        f"  architecture: {model.get('name')} frame detector, backbone {model.get('backbone')}, "
        f"domain {model.get('domain')}, input {description.get('input', {}).get('image_size')}² RGB in [0, 1]",
        f"  recipe:       {card.get('recipe', '')}",
        f"  code:         noisetrace {description.get('code_version')} ({card.get('code_commit', 'unknown commit')})",
        f"  training data: {data.get('files', '?')} real files of {data.get('identities', '?')} identities "
        f"({data.get('summary', '')}); provenance of every file: `noisetrace models --json`",
        f"  calibration:  {json.dumps(description.get('calibration'))}",
        "",
        card.get("wild_table", "(no wild-set table)"),
        "",
        "  known weaknesses:",
        *(f"  - {line}" for line in card.get("weaknesses", [])),
        f"  caveat: {card.get('caveat', '')}",
        f"  licences: {card.get('licences', '')}",
    ]
    return "\n".join(lines)


@user_errors_exit
def models(
    as_json: Annotated[bool, typer.Option("--json", help="Print each card whole, as JSON.")] = False,
) -> None:
    """List the detectors shipped with noisetrace and print their model cards.

    `noisetrace predict` uses the shipped detector when no -c is given.
    """
    names = list_shipped_models()
    if not names:
        typer.echo("no shipped models in this installation")
        raise typer.Exit(1)
    for name in names:
        description = model_card(name)
        typer.echo(json.dumps(description, indent=1) if as_json else format_card(name, description))
