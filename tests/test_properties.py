"""Property-based tests: whatever a valid return is mutated into, the pipeline gives a status.

Hypothesis starts from a correct template and correct CSV files, made by the
project's own generators, and mutates them: any value in any cell, rows dropped or
doubled, random bytes in the zip, random tags in a sheet's XML, random characters
(separators, quotes, NULs, broken UTF-8) in a CSV. For every mutant, ``read_return``
and ``validate_return`` give findings instead of raising, and ``process_return``
ends in one of the four statuses with a receipt that agrees and the file out of
the inbox. (``process_return`` reads and validates through ``check_return``, so an
exception in ``validate_return`` fails a property as surely as one in the reader.)
Example counts are modest so the file runs in a minute or two; a
failing example is printed with the seed that reproduces it.
"""

from __future__ import annotations

import copy
import csv
import itertools
import json
import os
import re
import zipfile
import zlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import hostile
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from topcop.findings import Finding
from topcop.ingest import process_return
from topcop.landing.local import LocalLanding
from topcop.returns.model import INDICATOR_COLUMNS, METADATA_FIELDS, SEIZURE_COLUMNS, ReturnFile
from topcop.returns.reader import read_return
from topcop.returns.samples import SampleReturn, fill_template, sample_content, write_csv
from topcop.warehouse.engine import warehouse_engine
from topcop.warehouse.migrate import migrate

TODAY = date(2026, 8, 15)
NOW = datetime(2026, 8, 15, 9, 0, tzinfo=UTC)
PERIOD = "2026-Q2"
STATUSES = {"accepted", "accepted_with_warnings", "rejected", "duplicate"}
PROPERTY = settings(
    # TOPCOP_PROPERTY_EXAMPLES=500 for a deeper search than every run can afford.
    max_examples=int(os.environ.get("TOPCOP_PROPERTY_EXAMPLES", "30")),
    deadline=None,
    database=None,  # nothing written into the repository; the seed is printed on failure
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Values people and programs put in cells: numbers as text, locale formats, codes
# from other lists, formulas, blanks that are not empty.
TRICKY = [
    "", " ", "\u00a0", "1 234", "1,234", "1.234,5", "12,5", "-0", "1e309", "NaN", "Infinity",
    "١٢٣", "１２３", "=1+1", "+cmd|' /C calc'!A0", "@SUM(A1)", "N/A", "-", "2026-Q5",
    "2026-02-30", "15.08.2026", "0x1F", "TRUE", "THB", "hrcn", "PERSONS_ARRESTED ", "KG",
    "x" * 1200,
]  # fmt: skip
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40).map(
    lambda s: ILLEGAL_CHARACTERS_RE.sub("", s)  # what a workbook can hold at all
)
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**15), 10**15),
    st.floats(allow_infinity=False, allow_nan=True),
    TEXT,
    st.dates(min_value=date(1900, 3, 1), max_value=date(9999, 12, 31)),
    st.sampled_from(TRICKY),
)
SHEETS = {
    "metadata": METADATA_FIELDS,
    "indicators": tuple(INDICATOR_COLUMNS),
    "seizures": tuple(SEIZURE_COLUMNS),
}


@pytest.fixture(scope="module")
def sample() -> SampleReturn:
    return sample_content("GE", PERIOD, seed=3, seizure_rows=12)


@pytest.fixture(scope="module")
def workbook(sample, tmp_path_factory) -> bytes:
    return fill_template(sample, tmp_path_factory.mktemp("good") / "good.xlsx").read_bytes()


@pytest.fixture(scope="module")
def csv_files(sample, tmp_path_factory) -> dict[str, bytes]:
    paths = write_csv(sample, tmp_path_factory.mktemp("csv"), sep=";", encoding="utf-8-sig")
    return {p.name: p.read_bytes() for p in paths}


class Pipeline:
    """One landing and one warehouse for a whole module: every mutant goes through both."""

    def __init__(self, root: Path):
        self.root = root
        self.landing = LocalLanding(root / "landing")
        self.engine = warehouse_engine(f"sqlite:///{root / 'warehouse.db'}")
        migrate(self.engine)
        self.counter = itertools.count()

    def folder(self) -> Path:
        path = self.root / "made" / str(next(self.counter))
        path.mkdir(parents=True)
        return path

    def run(self, path: Path) -> str:
        """Read the file at ``path``, then process it (which reads and validates it again)."""
        _assert_findings(read_return(path))
        # The same name each time, as a focal point resends: the stored names still differ.
        (self.landing.area("GE", "inbox") / path.name).write_bytes(path.read_bytes())
        (item,) = self.landing.list_inbox("GE")
        result = process_return(
            item, landing=self.landing, engine=self.engine, today=TODAY, now=NOW
        )
        assert result.status in STATUSES
        receipt = json.loads(self.landing.read("GE", "receipts", Path(result.receipt).name))
        assert receipt["status"] == result.status
        _assert_quotes_the_file(receipt["findings"], path)
        errors = [f for f in receipt["findings"] if f["severity"] == "error"]
        assert bool(errors) == (result.status == "rejected")
        assert self.landing.list_inbox("GE") == []
        # --hypothesis-show-statistics tells how often each status and first error came up.
        event(f"{result.status}: {errors[0]['rule'] if errors else '-'}")
        return result.status


def _assert_findings(ret: ReturnFile) -> None:
    assert isinstance(ret, ReturnFile)
    for f in ret.findings:
        assert isinstance(f, Finding)
        assert f.severity in ("error", "warning") and f.rule and f.message
    if not ret.readable:
        assert ret.indicators is None and ret.seizures is None


# How Python, numpy and pandas spell "no value": a finding that shows one of these for a
# cell quotes something the focal point cannot find in the file.
NO_VALUE_WORDS = re.compile(r"(?<![\w<])(nan|NaN|None|NaT|<NA>)(?![\w>])")


def _assert_quotes_the_file(findings: list[dict[str, Any]], path: Path) -> None:
    """Every "nan", "None", "NaT" or "<NA>" a finding shows is text the file holds."""
    held = _file_text(path)
    for f in findings:
        shown = f"{f['message']} {f['value'] if f['value'] is not None else ''}"
        for word in NO_VALUE_WORDS.findall(shown):
            assert word in held, f"{word!r} shown but not in the file: {f}"


def _file_text(path: Path) -> str:
    """The file's text as a reader of it could search it (a workbook's parts unpacked)."""
    data = path.read_bytes()
    try:
        with zipfile.ZipFile(path) as z:
            data = b"".join(z.read(i) for i in z.infolist() if i.file_size < 64 << 20)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError, zlib.error):
        pass
    return data.decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> Pipeline:
    return Pipeline(tmp_path_factory.mktemp("pipeline"))


# --- mutations -------------------------------------------------------------------


@st.composite
def cell_edits(draw: st.DrawFn, sample: SampleReturn) -> list[tuple[str, int, str, Any]]:
    """Some cells of the return given other values: (sheet, row index, column, value)."""
    edits = []
    for _ in range(draw(st.integers(1, 6))):
        sheet = draw(st.sampled_from(sorted(SHEETS)))
        rows = 1 if sheet == "metadata" else len(getattr(sample, sheet))
        row = draw(st.integers(0, rows - 1))
        edits.append((sheet, row, draw(st.sampled_from(SHEETS[sheet])), draw(VALUES)))
    return edits


ROW_EDITS = st.lists(
    st.tuples(
        st.sampled_from(["indicators", "seizures"]),
        st.sampled_from(["drop", "double", "blank"]),
        st.integers(0, 10**6),
    ),
    max_size=3,
)


def _apply(
    sample: SampleReturn, edits: list[tuple[str, int, str, Any]], rows: list[tuple[str, str, int]]
) -> SampleReturn:
    mutant = copy.deepcopy(sample)
    for sheet, row, column, value in edits:
        if sheet == "metadata":
            mutant.metadata[column] = value
        else:
            getattr(mutant, sheet)[row][column] = value
    for sheet, action, at in rows:
        table = getattr(mutant, sheet)
        if not table:
            continue
        i = at % len(table)
        if action == "drop":
            del table[i]
        elif action == "double":
            table.insert(i, dict(table[i]))
        else:
            table[i] = dict.fromkeys(table[i])
    return mutant


# XML that sheet readers trip on: tags cut or doubled, references out of bounds or
# malformed, entities, declarations, characters XML does not allow.
XML_PIECES = [
    b"<", b">", b"/>", b'"', b"'", b"&", b"&amp;", b"&#0;", b"&lol;", b"<c>", b"<c r=\"A1\">",
    b'<c r="XFD1048576">', b'<c r="a0">', b'<c r="$A$1">', b"<row>", b'<row r="0">',
    b'<row r="99999999">', b"</row>", b"</c>", b"<v>", b"</v>", b"<v>x</v>", b"<is><t>",
    b"</t></is>", b'<f>1+1</f>', b"<!DOCTYPE x>", b"<!ENTITY a \"b\">", b"<![CDATA[", b"]]>",
    b"\x00", b"\xff\xfe", b"\xc3", b" r=\"B2\"", b' t="s"', b' t="e"', b" s=\"999\"",
    b"<sheetData>", b"</sheetData>", b'<dimension ref="A1:XFD1048576"/>', b"9" * 12,
]  # fmt: skip


@st.composite
def splices(
    draw: st.DrawFn, size: int, pieces: st.SearchStrategy[bytes]
) -> list[tuple[int, int, bytes]]:
    """Replace, delete or insert bytes: (position, bytes removed, bytes put in)."""
    return draw(
        st.lists(
            st.tuples(st.integers(0, max(0, size - 1)), st.integers(0, 64), pieces),
            min_size=1,
            max_size=5,
        )
    )


def _splice(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    out = bytearray(data)
    for at, removed, inserted in sorted(edits, reverse=True):  # from the end: positions hold
        at = min(at, len(out))
        out[at : at + removed] = inserted
    return bytes(out)


# --- properties ------------------------------------------------------------------


@PROPERTY
@given(data=st.data())
def test_any_values_in_the_template_end_in_a_status(data, sample, pipeline):
    mutant = _apply(sample, data.draw(cell_edits(sample)), data.draw(ROW_EDITS))
    path = fill_template(mutant, pipeline.folder() / f"GE_{PERIOD}.xlsx")
    pipeline.run(path)


@PROPERTY
@given(data=st.data())
def test_damaged_workbook_bytes_end_in_a_status(data, workbook, pipeline):
    bytes_in = st.binary(max_size=32) | st.sampled_from([b"PK\x03\x04", b"PK\x01\x02", b"\x00" * 8])
    damaged = _splice(workbook, data.draw(splices(len(workbook), bytes_in)))
    if data.draw(st.booleans()):
        damaged = damaged[: data.draw(st.integers(0, len(damaged)))]  # and cut short
    path = pipeline.folder() / f"GE_{PERIOD}.xlsx"
    path.write_bytes(damaged)
    pipeline.run(path)


@PROPERTY
@given(data=st.data())
def test_damaged_sheet_xml_ends_in_a_status(data, workbook, pipeline):
    folder = pipeline.folder()
    good = folder / "good.xlsx"
    good.write_bytes(workbook)
    sheet = data.draw(st.sampled_from(["metadata", "indicators", "seizures"]))
    part = hostile.sheet_part(good, sheet)
    with zipfile.ZipFile(good) as z:
        xml = z.read(part)
    edits = data.draw(splices(len(xml), st.sampled_from(XML_PIECES) | st.binary(max_size=8)))
    path = hostile.rezip(good, folder / f"GE_{PERIOD}.xlsx", replace={part: _splice(xml, edits)})
    pipeline.run(path)


@PROPERTY
@given(data=st.data())
def test_damaged_csv_ends_in_a_status(data, csv_files, pipeline):
    name = data.draw(st.sampled_from(sorted(csv_files)))
    text = csv_files[name]
    text_pieces = st.sampled_from(
        [b",", b";", b'"', b'""', b"\n", b"\r\n", b"\r", b"\t", b"1 234", b"1,234", b"=1+1",
         b"-", b" ", b"\xef\xbb\xbf", "Задержано".encode(), b"THB", b"2026-13-45", b"1e999"]
    )  # fmt: skip
    broken = st.sampled_from([b"\x00", b"\xff\xfe", b"\xd0", b"\xc3\x28"]) | st.binary(max_size=8)
    edits = data.draw(splices(len(text), text_pieces))
    if data.draw(st.integers(0, 4)) == 0:  # now and then, no longer UTF-8 text at all
        edits += data.draw(splices(len(text), broken))
    path = pipeline.folder() / name
    path.write_bytes(_splice(text, edits))
    pipeline.run(path)


@PROPERTY
@given(data=st.data())
def test_a_random_csv_file_ends_in_a_status_quoting_only_what_it_holds(data, pipeline):
    # Any header (columns dropped, reordered, doubled or unknown), any separator a
    # program may write, any cells: the findings quote the file or say "empty".
    dataset = data.draw(st.sampled_from(["indicators", "seizures"]))
    names = [*SHEETS[dataset], "", "index", "Unnamed: 0"]
    header = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=14))
    cell = st.one_of(st.just(""), TEXT, st.sampled_from([*TRICKY, "24.09.2026 0:00", "nan"]))
    rows = data.draw(st.lists(st.lists(cell, min_size=0, max_size=len(header) + 1), max_size=8))
    sep = data.draw(st.sampled_from([",", ";", "\t"]))
    path = pipeline.folder() / f"GE_{PERIOD}_{dataset}.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter=sep)
        writer.writerow(header)
        writer.writerows(rows)
    pipeline.run(path)
