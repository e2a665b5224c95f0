"""Reading into Arrow columns gives exactly what reading rows of Python values gives.

The columnar readers (fastexcel for a workbook's data sheets, pyarrow.csv for a
plain CSV file; ``topcop.returns.columns``) take the plain case and leave the rest
to the general path. Each test reads the same file both ways, the second with the
columnar readers switched off, and compares the typed tables and every finding;
random files, full of the odd values focal points type, are the guard. Two tests
check that the columnar readers are really taken for the plain files.
"""

from __future__ import annotations

import csv
import random
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from topcop.returns import csv_return, reader, table, workbook
from topcop.returns.model import COLUMNS, DATA_SHEETS, INDICATORS_SHEET, SEIZURES_SHEET
from topcop.returns.samples import fill_template, sample_content, write_csv

ODD_TEXTS = [
    "", " ", " x ", "\u00a0", "\u2009RU", "KG\u3000", "\x1cx", "12", " 12.5 ", "1 234", "1,234",
    "1,5", "1e999", "-0", ".5", "5.", "2026-08-15", "2026-02-30", "1500-01-01", "15.08.2026",
    "31.02.2026", "24.09.2026 0:00", "24.09.2026 10:30", "nan", "None", "<NA>", "NaT",
    'a "quoted" word', "semi;colon", "comma, inside", "=1+1",
]  # fmt: skip
ODD_CELLS = [
    *(t for t in ODD_TEXTS if t != "\x1cx"), None, 0.0, 1.5, 3, -2, True, date(2026, 8, 15), date(1677, 9, 21),
    date(2262, 4, 12), datetime(2026, 8, 15, 10, 30), datetime(2026, 8, 15), time(10, 30),
    timedelta(days=1),
]  # fmt: skip


def _plain(rng: random.Random, dtype: str, cells: bool) -> object:
    if dtype == "Float64":
        return rng.choice([round(rng.random() * 1000, 3), 7, None] if cells else ["12.5", "7", ""])
    if dtype.startswith("datetime"):
        day = date(2026, rng.randint(1, 12), rng.randint(1, 28))
        return rng.choice([day, None] if cells else [day.isoformat(), ""])
    return rng.choice(["RU", "KG", None if cells else "", "Body concealment"])


def _rows(seed: int, cells: bool) -> tuple[str, list[str], list[list[object]]]:
    rng = random.Random(seed)
    sheet = rng.choice([INDICATORS_SHEET, SEIZURES_SHEET])
    header = list(COLUMNS[sheet])
    rng.shuffle(header)
    if rng.random() < 0.15:
        header = header[: rng.randint(1, len(header))]
    if rng.random() < 0.15:
        header[0] = header[0].upper() + " "
    odd = rng.choice([0.0, 0.0, 0.0, 0.05, 0.3])
    choices = ODD_CELLS if cells else ODD_TEXTS
    rows = []
    for _ in range(rng.choice([0, 1, 5, 40])):
        if rng.random() < 0.1:
            rows.append([None if cells else ""] * len(header))
            continue
        rows.append(
            [
                rng.choice(choices)
                if rng.random() < odd
                else _plain(rng, COLUMNS[sheet][c.strip().lower()], cells)
                for c in header
            ]
        )
    return sheet, header, rows


def _workbook(seed: int, path: Path) -> Path:
    sheet, header, rows = _rows(seed, cells=True)
    rng = random.Random(seed)
    wb = Workbook()
    wb.active.title = "metadata"
    wb["metadata"].append(["field", "value"])
    wb["metadata"].append(["country", "GE"])
    for name in DATA_SHEETS[1:]:
        ws = wb.create_sheet(name)
        index = rng.random() < 0.2  # as DataFrame.to_excel() writes: an unnamed index first
        ws.append([None, *header] if index else header)
        if name == sheet:
            for i, row in enumerate(rows):
                ws.append([i, *row] if index else row)
    wb.save(path)
    return path


def _csv(seed: int, folder: Path) -> Path:
    sheet, header, rows = _rows(seed, cells=False)
    rng = random.Random(seed)
    separator = rng.choice([",", ";"])
    path = folder / f"GE_2026-Q2_{sheet}.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter=separator, lineterminator=rng.choice(["\n", "\r\n"]))
        writer.writerow(header)
        writer.writerows(rows)
        if rng.random() < 0.2:
            f.write("\n")  # a blank line: no record
    return path


def _general_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workbook, "_columnar", lambda *args: None)
    monkeypatch.setattr(csv_return, "read_plain", lambda *args, **kwargs: None)


def _assert_read_alike(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    columnar = reader.read_return(path)
    with monkeypatch.context() as m:
        _general_only(m)
        general = reader.read_return(path)
    assert repr(columnar.findings) == repr(general.findings)
    assert columnar.metadata == general.metadata
    for dataset in ("indicators", "seizures"):
        got, expected = columnar.table(dataset), general.table(dataset)
        assert (got is None) == (expected is None), dataset
        if got is not None:
            pd.testing.assert_frame_equal(got, expected, check_exact=True)


@pytest.mark.parametrize("seed", range(40))
def test_a_workbook_reads_alike_in_columns_and_in_rows(seed, tmp_path, monkeypatch):
    _assert_read_alike(_workbook(seed, tmp_path / "GE_2026-Q2_return.xlsx"), monkeypatch)


@pytest.mark.parametrize("seed", range(60))
def test_a_csv_file_reads_alike_in_columns_and_in_records(seed, tmp_path, monkeypatch):
    _assert_read_alike(_csv(seed, tmp_path), monkeypatch)


@pytest.mark.parametrize(
    "text",
    [
        'a,"b\nc",d',  # a line break inside quotes: a record over two lines
        'a,b"c,d',  # a quote inside a value
        'a,"b"c,d',  # text after a closing quote
        "a,b,c,d,e,f,g,h,i,j,k,l,m,n",  # longer than the header
        "a,b",  # shorter than the header
        "a\rb",  # a lone carriage return
        "a,\x00,b",  # NUL
    ],
)
def test_an_odd_csv_record_reads_as_the_general_path_reads_it(text, tmp_path, monkeypatch):
    header = ",".join(COLUMNS[SEIZURES_SHEET])
    path = tmp_path / "GE_2026-Q2_seizures.csv"
    path.write_text(f"{header}\nR1,2026-05-01,Kyiv,COCAINE,1,KG,,,,ROAD,,N\n{text}\n", "utf-8")
    _assert_read_alike(path, monkeypatch)


def test_the_template_and_its_csv_files_are_read_in_columns(tmp_path, monkeypatch):
    """A plain return never reaches the row-by-row typing: its columns are typed whole."""
    sample = sample_content("GE", "2026-Q2", seed=3, seizure_rows=300)
    files = [
        fill_template(sample, tmp_path / "GE_2026-Q2_return.xlsx"),
        *write_csv(sample, tmp_path),
    ]

    def refuse(*args, **kwargs):
        raise AssertionError("typed row by row")

    monkeypatch.setattr(workbook, "type_table", refuse)
    monkeypatch.setattr(csv_return, "type_table", refuse)
    assert table.type_table is not refuse
    for path in files:
        ret = reader.read_return(Path(path))
        assert [f for f in ret.findings if f.severity == "error"] == [], path
        assert sum(len(ret.table(d)) for d in ret.datasets) > 0


def test_a_pandas_workbook_with_its_index_is_read_in_columns(tmp_path, monkeypatch):
    """``DataFrame.to_excel()``'s leading index column is passed over by the columnar reader."""
    sample = sample_content("GE", "2026-Q2", seed=4, seizure_rows=50)
    path = tmp_path / "GE_2026-Q2_return.xlsx"
    frames = {
        "metadata": pd.DataFrame(
            {"field": list(sample.metadata), "value": list(sample.metadata.values())}
        ),
        "indicators": pd.DataFrame(sample.indicators, columns=list(COLUMNS[INDICATORS_SHEET])),
        "seizures": pd.DataFrame(sample.seizures, columns=list(COLUMNS[SEIZURES_SHEET])),
    }
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in frames.items():
            frame.to_excel(writer, sheet_name=name)
    _assert_read_alike(path, monkeypatch)
    monkeypatch.setattr(workbook, "type_table", lambda *a, **k: pytest.fail("typed row by row"))
    ret = reader.read_return(path)
    assert len(ret.seizures) == 50
