"""Printing tables and records in the formats the commands offer (table, json, csv)."""

from __future__ import annotations

import json
import math
from typing import Any

import click
import numpy as np
import pandas as pd


def _clean(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if value is pd.NA:
        return None
    return value


def to_json(data: Any) -> str:
    """JSON text of ``data`` (numpy scalars and NaN handled), indented for people."""
    return json.dumps(data, default=_clean, ensure_ascii=False, indent=2, allow_nan=False)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``frame`` as JSON-ready dicts."""
    return [{k: _clean(v) for k, v in row.items()} for row in frame.to_dict("records")]


def echo_frame(frame: pd.DataFrame, output_format: str, *, extra: dict[str, Any] | None = None) -> None:
    """Print ``frame`` as an aligned table, JSON (with ``extra`` keys around the rows) or CSV."""
    if output_format == "json":
        payload: dict[str, Any] = dict(extra or {})
        payload["rows"] = records(frame)
        click.echo(to_json(payload))
    elif output_format == "csv":
        click.echo(frame.to_csv(index=False), nl=False)
    elif frame.empty:
        click.echo("(no rows)")
    else:
        with pd.option_context("display.max_colwidth", 60, "display.width", 200):
            click.echo(frame.to_string(index=False, float_format=lambda v: f"{v:,.3f}"))
