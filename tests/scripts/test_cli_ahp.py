"""``foncier ahp`` on CSV matrices: with or without criterion names, never a silently smaller matrix."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foncier.errors import ValidationError
from foncier.geo.ahp import RANDOM_INDEX, ahp_weights, consistent_matrix, matrix_from_table
from foncier.scripts.cli import cli


def _csv(rows: list[list[str]]) -> str:
    return "\n".join(",".join(r) for r in rows) + "\n"


def _layouts(matrix: np.ndarray, names: list[str]) -> dict[str, list[list[str]]]:
    cells = [[repr(float(v)) for v in row] for row in matrix]
    return {
        "bare": cells,
        "row and column names": [["", *names]] + [[n, *r] for n, r in zip(names, cells, strict=True)],
        "row names": [names, *cells],
        "column names": [[n, *r] for n, r in zip(names, cells, strict=True)],
    }


def _run_ahp(path: Path, *args: str) -> tuple[int, str]:
    out = CliRunner().invoke(cli, ["ahp", str(path), *args])
    return out.exit_code, out.output


def test_bare_three_by_three_matrix_is_read_as_three_by_three(tmp_path: Path) -> None:
    """The issue's case: a bare 3 x 3 matrix (no labels) was read as 2 x 2 and printed CR = 0 (acceptable)."""
    path = tmp_path / "matrix.csv"
    path.write_text("1,9,1/9\n1/9,1,9\n9,1/9,1\n")  # a cyclic, very inconsistent 3 x 3 matrix
    code, output = _run_ahp(path)
    assert code == 3, output
    assert "CR" in output and "0.10" in output
    code, output = _run_ahp(path, "--force", "--format", "json")
    assert code == 0, output
    result = json.loads(output)
    assert len(result["weights"]) == 3
    assert result["ri"] == RANDOM_INDEX[3]
    assert result["cr"] > 0.10 and not result["consistent"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(weights=st.lists(st.floats(0.2, 1.0), min_size=3, max_size=7))
def test_every_layout_gives_the_weights_back(tmp_path: Path, weights: list[float]) -> None:
    """A consistent matrix w_i / w_j written in any of the four layouts gives w (normalised) back."""
    expected = np.asarray(weights) / np.sum(weights)
    names = [f"c{i}" for i in range(len(weights))]
    for layout, rows in _layouts(consistent_matrix(weights), names).items():
        path = tmp_path / "m.csv"
        path.write_text(_csv(rows))
        code, output = _run_ahp(path, "--format", "json")
        assert code == 0, (layout, output)
        result = json.loads(output)
        got = list(result["weights"].values())
        assert np.allclose(got, expected, atol=1e-6), (layout, got, expected)
        unnamed = [str(k) for k in ahp_weights(consistent_matrix(weights)).weights.index]
        assert list(result["weights"]) == (names if layout != "bare" else unnamed)
        assert result["cr"] == pytest.approx(0.0, abs=1e-6)


def test_semicolon_and_tab_separators(tmp_path: Path) -> None:
    for sep in (";", "\t"):
        path = tmp_path / "m.csv"
        path.write_text(f"1{sep}3{sep}5\n1/3{sep}1{sep}5/3\n1/5{sep}3/5{sep}1\n")
        code, output = _run_ahp(path, "--format", "json")
        assert code == 0, output
        assert len(json.loads(output)["weights"]) == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,3\n1/3,1\n1,1\n", "3 x 2 (no names); a pairwise matrix must be square"),
        (",a,b,c\na,1,3\nb,1/3,1\n", "2 x 3 (names in the first row and column)"),
        ("1,3,2\n1/3,x,2\n1/2,1/2,1\n", "row 1, column '2': 'x' is not a judgement"),
        ("a,3,b\n1/3,1,2\n1/2,1/2,1\n", "the first row mixes criterion names and numbers"),
        (",a,b\nb,1,3\na,1/3,1\n", "the row names ['b', 'a'] differ from the column names ['a', 'b']"),
        ("\n\n", "holds no matrix"),
    ],
)
def test_bad_matrices_are_refused_with_a_clear_message(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    code, output = _run_ahp(path)
    assert code == 3, output
    assert expected in output, output
    assert str(path) in output and "Traceback" not in output


def test_matrix_from_table_keeps_names_and_cells() -> None:
    matrix, names = matrix_from_table([["", "a", "b"], ["a", "1", "3"], ["b", "1/3", "1"]])
    assert names == ["a", "b"] and matrix == [["1", "3"], ["1/3", "1"]]
    matrix, names = matrix_from_table([["1", "3"], ["1/3", "1"]])
    assert names is None and matrix == [["1", "3"], ["1/3", "1"]]
    with pytest.raises(ValidationError, match="must be square"):
        matrix_from_table([["1", "2", "3"], ["1", "1", "1"]])
