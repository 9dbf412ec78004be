"""The values the GeoPackage writer stores, column by column (``gpkg._sql_values``, converted column-wise)."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from foncier.layers import gpkg


def _stored(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    con = sqlite3.connect(":memory:")
    gpkg.register_gpkg_functions(con)
    gpkg.write_table(con, "t", frame)
    cols = list(frame.columns)
    sel = ", ".join(f'quote("{c}"), typeof("{c}")' for c in cols)
    return list(con.execute(f'SELECT {sel} FROM "t" ORDER BY fid').fetchall())


def test_each_kind_is_stored_with_its_sqlite_type() -> None:
    frame = pd.DataFrame(
        {
            "b": [True, False, True],
            "i": np.array([1, -2, 2**40]),
            "f": [1.5, np.nan, -0.25],
            "s": ["a", None, "é"],
            "sd": pd.array(["x", None, "z"], dtype="string"),
            "nan_s": ["a", np.nan, "c"],
            "mixed": [1, "a", np.int64(3)],
            "empty": [None, None, None],
            "dt": pd.to_datetime(["2024-01-01T12:00:00.123456", None, "1999-12-31T00:00:00"], format="ISO8601"),
            "nb": pd.array([True, None, False], dtype="boolean"),
            "ni": pd.array([4, None, 6], dtype="Int64"),
        }
    )
    rows = _stored(frame)
    assert rows[0] == (
        "1", "integer", "1", "integer", "1.5", "real", "'a'", "text", "'x'", "text", "'a'", "text",
        "'1'", "text", "NULL", "null", "'2024-01-01T12:00:00.123Z'", "text", "1", "integer", "4", "integer",
    )  # fmt: skip
    assert rows[1] == (
        "0", "integer", "-2", "integer", "NULL", "null", "NULL", "null", "NULL", "null", "NULL", "null",
        "'a'", "text", "NULL", "null", "NULL", "null", "NULL", "null", "NULL", "null",
    )  # fmt: skip
    assert rows[2][2:4] == (str(2**40), "integer")
    assert rows[2][16:18] == ("'1999-12-31T00:00:00.000Z'", "text")
    assert rows[2][12:14] == ("'3'", "text")  # TEXT affinity


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.floats(allow_nan=True, width=64)), min_size=0, max_size=40),
    st.lists(st.one_of(st.none(), st.text(max_size=5)), min_size=0, max_size=40),
)
def test_column_wise_conversion_equals_the_per_value_one(floats: list[float | None], texts: list[str | None]) -> None:
    for series in (
        pd.Series(floats, dtype="float64"),
        pd.Series(texts, dtype=object),
        pd.Series(texts, dtype="string"),
    ):
        got = gpkg._sql_values(series)
        expected = [gpkg._sql_value(v) for v in series.astype(object)]
        assert got == expected  # no NaN survives either: both give None
        assert [type(v) for v in got] == [type(v) for v in expected]
