"""``python -m noisetrace.cli`` runs the same app as the ``noisetrace`` console script."""

from noisetrace.cli.main import app

app()
