"""``foncier ahp``: weights and consistency ratio of an AHP pairwise comparison matrix."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import click
import yaml

from foncier.errors import DataFormatError
from foncier.geo.ahp import ahp_weights, matrix_from_table
from foncier.scripts._errors import handle_errors
from foncier.scripts._output import to_json


def _read_table(path: Path) -> list[list[str]]:
    """The cells of a CSV/TSV file (separator sniffed among ``,;`` tab and space)."""
    text = path.read_text(encoding="utf-8-sig")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t ")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in row)]


def read_matrix(path: Path) -> tuple[list[list[str]] | list[list[str | float]], list[str] | None]:
    """Read a pairwise matrix from YAML (``criteria: [...]``, ``matrix: [[...]]``) or CSV.

    A CSV may carry the criterion names in its first row and/or first column, or none at all (a bare numeric
    matrix); see :func:`foncier.geo.ahp.matrix_from_table`.
    """
    try:
        if path.suffix.lower() in (".csv", ".tsv", ".txt"):
            return matrix_from_table(_read_table(path), source=str(path))
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, csv.Error) as exc:
        raise DataFormatError(f"{path}: cannot read the matrix ({exc})") from None
    if isinstance(doc, dict) and "ahp" in doc:
        doc = doc["ahp"]
    if isinstance(doc, dict) and "matrix" in doc:
        names = doc.get("criteria") or doc.get("names")
        return doc["matrix"], [str(n) for n in names] if names else None
    if isinstance(doc, list):
        return doc, None
    raise DataFormatError(f"{path}: expected a YAML mapping with 'matrix' (and 'criteria'), or a CSV matrix")


@click.command()
@click.argument("matrix_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Give the weights even when the consistency ratio is above the limit.")
@click.option(
    "--max-cr", type=click.FloatRange(0, 1), default=0.10, show_default=True, help="Largest consistency ratio accepted."
)
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@handle_errors
def ahp(matrix_file: Path, force: bool, max_cr: float, output_format: str) -> None:
    """Derive weights from the AHP pairwise matrix in MATRIX_FILE (Saaty's 1-9 scale).

    Prints the principal-eigenvector weights, lambda max, CI = (lambda_max - n) / (n - 1) and CR = CI / RI.
    A CR above --max-cr (0.10, Saaty's rule) is refused unless --force is given. MATRIX_FILE is YAML
    (`criteria: [a, b, c]` and `matrix: [[1, 3, "1/5"], ...]`, or a profile with an `ahp:` block) or CSV.
    """
    matrix, names = read_matrix(matrix_file)
    result = ahp_weights(matrix, names=names, force=force, max_cr=max_cr)
    if output_format == "json":
        click.echo(to_json({
            "weights": {str(k): float(v) for k, v in result.weights.items()},
            "lambda_max": result.lambda_max, "ci": result.ci, "cr": result.cr, "ri": result.ri,
            "consistent": result.cr <= max_cr,
        }))  # fmt: skip
        return
    for name, weight in result.weights.items():
        click.echo(f"{name:<28} {weight:.4f}")
    verdict = "acceptable" if result.cr <= max_cr else f"ABOVE {max_cr:g} (forced)"
    click.echo(
        f"lambda_max = {result.lambda_max:.4f}  CI = {result.ci:.4f}  RI = {result.ri:.2f}  "
        f"CR = {result.cr:.4f} ({verdict})"
    )
