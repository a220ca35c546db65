"""Protocols: experiment specs (YAML) for the paper's tables and user grids, and the resumable runner.

``paper-table1`` and ``paper-table2`` ship in ``specs/``; :func:`load_spec` reads them by name or any
user file by path, :func:`plan_grid` resolves runs and cells on a manifest, :func:`run_grid` runs them
into a grid folder, whose files :class:`GridLayout` locates.
"""

from noisetrace.protocols.layout import CellFiles, GridLayout
from noisetrace.protocols.plan import Cell, GridPlan, TrainingRun, identity_leaks, plan_grid, training_rows
from noisetrace.protocols.runner import GridProgress, GridSettings, collect_results, plan_summary, run_grid
from noisetrace.protocols.spec import ColumnSpec, FakeSet, ProtocolSpec, RowSpec, list_specs, load_spec, parse_spec

__all__ = [
    "Cell",
    "CellFiles",
    "ColumnSpec",
    "FakeSet",
    "GridLayout",
    "GridPlan",
    "GridProgress",
    "GridSettings",
    "ProtocolSpec",
    "RowSpec",
    "TrainingRun",
    "collect_results",
    "identity_leaks",
    "list_specs",
    "load_spec",
    "parse_spec",
    "plan_grid",
    "plan_summary",
    "run_grid",
    "training_rows",
]
