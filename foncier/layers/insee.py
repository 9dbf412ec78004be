"""Working-age population (15-64) from an INSEE census table, for the labour pool.

``foncier ingest -w WS insee-population FILE`` reads an INSEE "base communale" census table (e.g.
``base-cc-evol-struct-pop-2021.CSV``: ``;`` or ``,`` separated, one row per commune, ``CODGEO`` then columns
such as ``P21_POP``, ``P21_POP1564``...) and sets ``pop_15_64`` on the stored ``labour_communes`` and
``communes`` by INSEE code, in one write session. The labour pool counts working-age population only when
every commune has a value (:func:`foncier.geo.criteria.labour_population_column`); otherwise it stays on total
population and the pipeline says so (metadata ``labour_pool_basis``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from foncier.errors import DataFormatError, LayerNotFoundError, Problem, ValidationError
from foncier.layers.workspace import Provenance, Workspace, file_checksum, frame_checksum

logger = logging.getLogger(__name__)

#: Name of the pseudo-layer given to ``foncier ingest`` and of its provenance record.
INSEE_POPULATION = "insee-population"
#: Column set on the communes layers.
WORKING_AGE_COLUMN = "pop_15_64"
#: Layers that receive the column, in order.
TARGET_LAYERS: tuple[str, ...] = ("labour_communes", "communes")
#: Licence of INSEE's census tables.
INSEE_LICENCE = "Licence Ouverte 2.0 (INSEE, recensement de la population)"

_CODE_COLUMN = "CODGEO"
_POP_RE = re.compile(r"^P(\d{2})_POP1564$", re.IGNORECASE)
_CODE_RE = re.compile(r"^(?:\d{2}|2[AB])\d{3}$")
_MAX_POPULATION = 3e6


@dataclass
class InseeTable:
    """A validated INSEE table: working-age population by INSEE code.

    Attributes
    ----------
    values : pandas.Series
        Population 15-64 (float, as INSEE publishes it: census estimates have decimals) indexed by INSEE code.
    column : str
        The column read (``P21_POP1564``).
    vintage : str
        ``RP 2021`` for ``P21_POP1564``.
    """

    values: pd.Series
    column: str
    vintage: str


@dataclass
class PopulationResult:
    """What ``ingest insee-population`` did.

    Attributes
    ----------
    vintage, column : str
        Census edition and column read.
    rows : int
        Communes in the table.
    matched : dict of str to int
        Communes of each layer that got a value.
    missing : dict of str to list of str
        Communes of each layer absent from the table (left without a value).
    """

    vintage: str
    column: str
    rows: int
    matched: dict[str, int] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Whether every commune of the layers got a value (the labour pool then counts working-age people)."""
        return not any(self.missing.values())

    def describe(self) -> list[str]:
        """Lines for the user."""
        lines = [
            f"{layer}: {WORKING_AGE_COLUMN} set for {n} commune(s) from {self.column} ({self.vintage})"
            for layer, n in self.matched.items()
        ]
        for layer, codes in self.missing.items():
            if codes:
                shown = ", ".join(codes[:20]) + (f" ... ({len(codes)} in all)" if len(codes) > 20 else "")
                lines.append(f"{layer}: {len(codes)} commune(s) missing from the table: {shown}")
        if self.complete:
            lines.append(
                "labour pool basis: working-age population (15-64) from the next `foncier score --refresh` / pipeline"
            )
        else:
            lines.append(
                "labour pool basis stays total population: working-age population is used only when every "
                "commune has a value (give a table covering the missing communes)"
            )
        return lines


def _read_text(path: Path, encoding: str | None = None) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot read the file: {exc}") from None
    if not raw.strip():
        raise DataFormatError(f"{path}: the file is empty")
    for codec in (encoding,) if encoding else ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(codec)
        except (UnicodeDecodeError, LookupError) as exc:
            if encoding:
                raise DataFormatError(f"{path}: cannot decode the file as {encoding}: {exc}") from None
    raise DataFormatError(f"{path}: not a text (CSV) file")  # pragma: no cover - cp1252 decodes almost anything


def read_insee_population(path: str | Path, *, encoding: str | None = None) -> InseeTable:
    """Read and validate an INSEE "base communale" census table (CSV, ``;`` or ``,`` separated).

    The code column is ``CODGEO`` (5 characters, leading zeros kept, Corsica ``2A``/``2B``); the population
    column is the most recent ``P??_POP1564`` present (``P21_POP1564`` -> vintage ``RP 2021``). Decimal commas
    are accepted in ``;``-separated files.

    Raises
    ------
    foncier.errors.DataFormatError
        Unreadable or empty file.
    foncier.errors.ValidationError
        Missing ``CODGEO`` or ``P??_POP1564`` column, malformed or duplicate codes, missing, non-numeric,
        negative or absurd values (every problem, with its row and column).
    """
    path = Path(path)
    text = _read_text(path, encoding)
    first = text.splitlines()[0]
    sep = ";" if first.count(";") >= first.count(",") and ";" in first else ","
    try:
        table = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, quoting=csv.QUOTE_MINIMAL)
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataFormatError(f"{path}: malformed CSV: {exc}") from None
    table.columns = [str(c).strip() for c in table.columns]
    source = path.name
    columns = {c.upper(): c for c in table.columns}
    pop_columns = sorted((m.group(1), c) for c in table.columns if (m := _POP_RE.match(c)))
    problems: list[Problem] = []
    if _CODE_COLUMN not in columns:
        problems.append(
            Problem(f"no {_CODE_COLUMN} column (INSEE commune code); columns: {list(table.columns)}", source)
        )
    if not pop_columns:
        problems.append(
            Problem(
                f"no P??_POP1564 column (population 15-64, e.g. P21_POP1564); columns: {list(table.columns)}", source
            )
        )
    if problems:
        raise ValidationError(problems, title=f"{path}: not an INSEE base communale table")
    if table.empty:
        raise ValidationError([Problem("the table has no rows", source)], title=f"{path}: invalid INSEE table")
    year, pop_column = pop_columns[-1]
    code_column = columns[_CODE_COLUMN]
    codes = table[code_column].str.strip().str.upper()
    text_values = table[pop_column].str.strip()
    if sep == ";":
        text_values = text_values.str.replace(",", ".", regex=False)
    values = pd.to_numeric(text_values, errors="coerce")
    for i, code in enumerate(codes):
        if not _CODE_RE.match(code):
            problems.append(
                Problem(
                    f"malformed INSEE code {code!r} (5 characters: 02722, 2A004; line {i + 2})", source, i, code_column
                )
            )
    for dup in np.flatnonzero(codes.duplicated(keep="first").to_numpy()).tolist():
        problems.append(Problem(f"duplicate INSEE code {codes.iloc[dup]!r} (line {dup + 2})", source, dup, code_column))
    for i, (raw, value) in enumerate(zip(table[pop_column], values, strict=True)):
        if pd.isna(value):
            what = "missing value" if not str(raw).strip() else f"non-numeric value {raw!r}"
            problems.append(Problem(f"{what} (line {i + 2})", source, i, pop_column))
        elif value < 0 or value > _MAX_POPULATION or not np.isfinite(value):
            problems.append(Problem(f"implausible population {raw!r} (line {i + 2})", source, i, pop_column))
    if problems:
        raise ValidationError(problems, title=f"{path}: invalid INSEE table")
    vintage = f"RP 20{year}"
    logger.info("%s: %d communes, %s (%s)", path, len(codes), pop_column, vintage)
    return InseeTable(
        pd.Series(values.to_numpy(dtype="float64"), index=codes.to_numpy(), name=pop_column), pop_column, vintage
    )


def store_insee_population(
    workspace: Workspace,
    path: str | Path,
    *,
    encoding: str | None = None,
    licence: str | None = None,
    vintage: str = "",
) -> PopulationResult:
    """Set ``pop_15_64`` on the stored ``labour_communes`` and ``communes`` from an INSEE table.

    The whole column is replaced (one census edition, never a mix): communes absent from the table are left
    without a value, which keeps the labour pool on total population. Everything (both layers, their
    provenance, the ``insee-population`` provenance record and metadata) is written in ONE write session;
    nothing is written when the table is refused.

    Parameters
    ----------
    workspace : Workspace
        Where ``labour_communes`` and/or ``communes`` are stored.
    path : str or Path
        The INSEE table (CSV).
    encoding : str, optional
        Text encoding (default: UTF-8, else Windows-1252).
    licence : str, optional
        Licence recorded in the provenance (default: INSEE's Licence Ouverte).
    vintage : str, optional
        Edition recorded in the provenance after the census year read from the column (``RP 2021 (2024-06)``).

    Raises
    ------
    foncier.errors.ValidationError
        Invalid table (see :func:`read_insee_population`), or none of the stored communes in it.
    foncier.errors.LayerNotFoundError
        Neither ``labour_communes`` nor ``communes`` is stored.
    """
    path = Path(path)
    table = read_insee_population(path, encoding=encoding)
    checksum = file_checksum(path)
    if vintage and vintage != table.vintage:
        table.vintage = f"{table.vintage} ({vintage})"
    result = PopulationResult(table.vintage, table.column, len(table.values))
    with workspace.write_session() as session:
        present = [name for name in TARGET_LAYERS if workspace.has_layer(name)]
        if not present:
            raise LayerNotFoundError(
                "no communes layer in the workspace (labour_communes, communes): fetch or ingest them first"
            )
        frames = {name: workspace.read_layer(name) for name in present}
        stored_codes = {c for f in frames.values() for c in f["insee"].astype(str)}
        if not stored_codes & set(table.values.index):
            raise ValidationError(
                [
                    Problem(
                        f"none of the {len(stored_codes)} stored communes is in the table (wrong territory?)", path.name
                    )
                ],
                title=f"{path}: nothing to set",
            )
        prov = workspace.provenance().set_index("layer")
        today = dt.date.today().isoformat()
        records = []
        for name, frame in frames.items():
            codes = frame["insee"].astype(str)
            values = codes.map(table.values)
            frame[WORKING_AGE_COLUMN] = pd.array(np.round(values.to_numpy(dtype="float64")), dtype="Float64").astype(
                "Int64"
            )
            result.matched[name] = int(values.notna().sum())
            result.missing[name] = sorted(codes[values.isna()].tolist())
            session.stage(name, frame)
            note = f"{WORKING_AGE_COLUMN} from {path.name} ({table.column}, {table.vintage}, {today})"
            if name in prov.index:
                row = prov.loc[name]
                state = str(row["state"]) if pd.notna(row["state"]) and str(row["state"]) else "complete"
                state = re.sub(rf"; {WORKING_AGE_COLUMN} from .*$", "", state)
                records.append(
                    Provenance(
                        layer=name, source=str(row["source"]), licence=str(row["licence"]),
                        retrieved=str(row["retrieved"]), vintage=str(row["vintage"]), feature_count=len(frame),
                        checksum=frame_checksum(frame), state=f"{state}; {note}",
                    )
                )  # fmt: skip
        missing = sum(len(v) for v in result.missing.values())
        records.append(
            Provenance(
                layer=INSEE_POPULATION,
                source=str(path.resolve()),
                licence=licence or INSEE_LICENCE,
                retrieved=today,
                vintage=table.vintage,
                feature_count=len(table.values),
                checksum=checksum,
                state="complete" if not missing else f"partial: {missing} stored commune(s) missing from the table",
            )
        )
        session.add_provenance(records)
        session.set_metadata({"labour_population_source": f"INSEE {table.vintage} {table.column} ({path.name})"})
    logger.info("%s (%s)", "; ".join(result.describe()), workspace.path)
    return result
