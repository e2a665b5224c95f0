"""Reading returns: round trips through the template and CSV, and every bad file as a finding."""

from __future__ import annotations

import copy
import dataclasses
import random
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from topcop import config
from topcop.config import codelists
from topcop.findings import ERROR, WARNING
from topcop.periods import Period
from topcop.returns.inspect import OLE2_MAGIC, inspect_file
from topcop.returns.model import INDICATOR_COLUMNS, ROW, SEIZURE_COLUMNS
from topcop.returns.reader import read_return
from topcop.returns.samples import SampleReturn, fill_template, sample_content, write_csv

COUNTRY, PERIOD = "GE", "2026-Q3"


@pytest.fixture(scope="module")
def sample() -> SampleReturn:
    return sample_content(COUNTRY, PERIOD, seed=11, seizure_rows=120)


@pytest.fixture(scope="module")
def workbook(sample, tmp_path_factory) -> Path:
    """A correct return, filled from the template; tests copy it before tampering."""
    return fill_template(sample, tmp_path_factory.mktemp("good") / "GE_2026-Q3.xlsx")


@pytest.fixture
def planted(sample):
    """A deep copy of the sample to plant a fault in."""
    return copy.deepcopy(sample)


def plain(table: pd.DataFrame) -> list[dict]:
    """Table rows as the sample's plain dicts: NA -> None, timestamps -> dates, no row column."""
    rows = []
    for record in table.drop(columns=ROW).to_dict("records"):
        rows.append(
            {
                k: None if pd.isna(v) else v.date() if isinstance(v, pd.Timestamp) else v
                for k, v in record.items()
            }
        )
    return rows


def where(finding):
    """A finding without its message: what a test can pin exactly."""
    return (
        finding.sheet,
        finding.row,
        finding.column,
        finding.value,
        finding.rule,
        finding.severity,
    )


def rules(findings):
    return [f.rule for f in findings]


def rezip(src: Path, dst: Path, *, add=None, drop=(), replace=None) -> Path:
    """Copy a workbook's zip members, adding, dropping or replacing some."""
    add, replace = add or {}, replace or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            zout.writestr(info.filename, replace.get(info.filename, zin.read(info)))
        for name, data in add.items():
            zout.writestr(name, data)
    return dst


def read_filled(sample: SampleReturn, tmp_path: Path):
    return read_return(fill_template(sample, tmp_path / "return.xlsx"))


# --- round trips -----------------------------------------------------------------


def test_workbook_round_trip_gives_back_the_sample(sample, workbook):
    result = read_return(workbook)
    assert result.findings == []
    assert result.file_format == "xlsx"
    assert result.readable
    # The template adds the receipts' language (the unit's, Georgian for GE) to the metadata.
    assert result.metadata == {**sample.metadata, "language": "ka"}
    assert plain(result.indicators) == sample.indicators
    assert plain(result.seizures) == sample.seizures
    assert result.datasets == ["indicators", "seizures"]


def test_tables_carry_model_dtypes_and_spreadsheet_row_numbers(sample, workbook):
    result = read_return(workbook)
    for table, columns, rows in (
        (result.indicators, INDICATOR_COLUMNS, sample.indicators),
        (result.seizures, SEIZURE_COLUMNS, sample.seizures),
    ):
        assert list(table.columns) == [ROW, *columns]
        assert {c: str(t) for c, t in table.dtypes.items() if c != ROW} == columns
        assert table[ROW].tolist() == list(range(2, len(rows) + 2))
    assert result.metadata_rows == {
        "country": 2,
        "period": 3,
        "template_version": 4,
        "submission_date": 5,
        "focal_point_ref": 6,
        "handling_code": 7,
        "remarks": 8,
        "language": 9,
    }


@pytest.mark.parametrize(
    ("sep", "encoding", "decimal"),
    [(",", "utf-8", "."), (";", "utf-8-sig", ","), (";", "utf-8", "."), (",", "utf-8-sig", ".")],
)
def test_csv_round_trip(sample, tmp_path, sep, encoding, decimal):
    paths = write_csv(sample, tmp_path, sep=sep, encoding=encoding, decimal=decimal)
    assert [p.name for p in paths] == ["GE_2026-Q3_indicators.csv", "GE_2026-Q3_seizures.csv"]
    if encoding == "utf-8-sig":
        assert paths[0].read_bytes().startswith(b"\xef\xbb\xbf")
    for path, dataset, rows in zip(
        paths, ("indicators", "seizures"), (sample.indicators, sample.seizures), strict=True
    ):
        result = read_return(path)
        assert result.findings == []
        assert result.file_format == "csv"
        assert result.metadata == {"country": "GE", "period": "2026-Q3"}
        assert result.datasets == [dataset]
        assert plain(result.table(dataset)) == rows
        assert result.table(dataset)[ROW].tolist() == list(range(2, len(rows) + 2))


def test_csv_row_is_the_line_a_record_starts_on(planted, tmp_path):
    planted.indicators[1]["comment"] = "Two lines:\nsecond line"
    indicators_csv, _ = write_csv(planted, tmp_path)
    result = read_return(indicators_csv)
    assert result.findings == []
    table = result.indicators
    assert table.loc[1, "comment"] == "Two lines:\nsecond line"
    assert table[ROW].tolist()[:4] == [2, 3, 5, 6]  # the comment spans lines 3 and 4


def test_blank_rows_are_skipped_and_rows_keep_their_numbers(planted, tmp_path):
    planted.seizures[5] = dict.fromkeys(SEIZURE_COLUMNS)
    result = read_filled(planted, tmp_path)
    assert result.findings == []
    assert len(result.seizures) == len(planted.seizures) - 1
    assert 7 not in result.seizures[ROW].tolist()  # sample row 5 is spreadsheet row 7
    assert result.seizures[ROW].tolist()[5] == 8


def test_numbers_as_text_and_dotted_dates_are_read(planted, tmp_path):
    planted.indicators[0]["value"] = " 12 "
    planted.seizures[0]["seizure_date"] = "15.08.2026"
    planted.seizures[1]["quantity"] = "2.5"
    result = read_filled(planted, tmp_path)
    assert result.findings == []
    assert result.indicators.loc[0, "value"] == 12
    assert result.seizures.loc[0, "seizure_date"] == pd.Timestamp(2026, 8, 15)
    assert result.seizures.loc[1, "quantity"] == 2.5


def test_a_formula_typed_as_text_stays_text(planted, tmp_path):
    planted.seizures[0]["region"] = '=HYPERLINK("http://example.org")'
    result = read_filled(planted, tmp_path)
    assert result.seizures.loc[0, "region"] == '=HYPERLINK("http://example.org")'


# --- faults inside the sheets ----------------------------------------------------


def test_missing_sheet(workbook, tmp_path):
    wb = openpyxl.load_workbook(workbook)
    del wb["seizures"]
    wb.save(tmp_path / "r.xlsx")
    result = read_return(tmp_path / "r.xlsx")
    assert [where(f) for f in result.findings] == [
        ("seizures", None, None, "seizures", "sheet_missing", ERROR)
    ]
    assert "no sheet named 'seizures'" in result.findings[0].message
    assert result.seizures is None
    assert result.indicators is not None


def test_missing_and_unknown_columns(workbook, tmp_path):
    wb = openpyxl.load_workbook(workbook)
    ws = wb["seizures"]
    ws["E1"] = "qty"  # was quantity
    ws["L1"] = None  # was ocg_involved
    wb.save(tmp_path / "r.xlsx")
    result = read_return(tmp_path / "r.xlsx")
    assert sorted(where(f) for f in result.findings) == [
        ("seizures", 1, "ocg_involved", None, "column_missing", ERROR),
        ("seizures", 1, "qty", "qty", "column_unknown", WARNING),
        ("seizures", 1, "quantity", None, "column_missing", ERROR),
    ]
    # the table keeps its shape, the missing columns empty, so later steps need no special case
    assert list(result.seizures.columns) == [ROW, *SEIZURE_COLUMNS]
    assert result.seizures["quantity"].isna().all()
    assert result.seizures["commodity"].notna().all()


def test_text_in_value_column(planted, tmp_path):
    planted.indicators[3]["value"] = "12 kg"
    result = read_filled(planted, tmp_path)
    assert [where(f) for f in result.findings] == [
        ("indicators", 5, "value", "12 kg", "type_number", ERROR)
    ]
    assert "'12 kg' is not a number" in result.findings[0].message
    assert pd.isna(result.indicators.loc[3, "value"])
    assert result.indicators.loc[4, "value"] == planted.indicators[4]["value"]


def test_text_and_booleans_in_quantity(planted, tmp_path):
    planted.seizures[0]["quantity"] = "approx. 3"
    planted.seizures[9]["quantity"] = True
    result = read_filled(planted, tmp_path)
    assert [where(f) for f in result.findings] == [
        ("seizures", 2, "quantity", "approx. 3", "type_number", ERROR),
        ("seizures", 11, "quantity", True, "type_number", ERROR),
    ]


def test_bad_dates(planted, tmp_path):
    planted.seizures[0]["seizure_date"] = "2026-02-30"
    planted.seizures[1]["seizure_date"] = "yesterday"
    result = read_filled(planted, tmp_path)
    assert [where(f) for f in result.findings] == [
        ("seizures", 2, "seizure_date", "2026-02-30", "type_date", ERROR),
        ("seizures", 3, "seizure_date", "yesterday", "type_date", ERROR),
    ]
    assert "'yesterday' is not a date" in result.findings[1].message
    assert result.seizures["seizure_date"].isna().tolist()[:3] == [True, True, False]


def test_date_pasted_as_a_plain_number(workbook, tmp_path):
    wb = openpyxl.load_workbook(workbook)
    cell = wb["seizures"]["B4"]
    cell.value, cell.number_format = 46000, "General"  # pasted over the date format
    wb.save(tmp_path / "r.xlsx")
    result = read_return(tmp_path / "r.xlsx")
    assert [where(f) for f in result.findings] == [
        ("seizures", 4, "seizure_date", 46000.0, "type_date", ERROR)
    ]
    assert "is a number, not a date" in result.findings[0].message


def test_bad_submission_date_in_metadata(planted, tmp_path):
    planted.metadata["submission_date"] = "soon"
    result = read_filled(planted, tmp_path)
    assert [where(f) for f in result.findings] == [
        ("metadata", 5, "value", "soon", "type_date", ERROR)
    ]
    assert result.metadata["submission_date"] is None


def test_csv_text_in_value_and_extra_field(planted, tmp_path):
    planted.indicators[0]["value"] = "n/a"
    planted.seizures[2]["concealment"] = "car; under seat"
    indicators_csv, seizures_csv = write_csv(planted, tmp_path, sep=";")
    # an unquoted separator inside a value, as a hand-edited file would have it
    text = seizures_csv.read_text(encoding="utf-8").replace('"car; under seat"', "car; under seat")
    seizures_csv.write_text(text, encoding="utf-8")
    assert [where(f) for f in read_return(indicators_csv).findings] == [
        ("indicators", 2, "value", "n/a", "type_number", ERROR)
    ]
    findings = read_return(seizures_csv).findings
    assert [where(f) for f in findings] == [("seizures", 4, None, 13, "csv_field_count", ERROR)]


def test_decimal_comma_only_in_semicolon_files(planted, tmp_path):
    planted.seizures[0]["quantity"] = "1,5"
    _, comma_csv = write_csv(planted, tmp_path / "comma", sep=",")
    _, semicolon_csv = write_csv(planted, tmp_path / "semicolon", sep=";")
    assert [where(f) for f in read_return(comma_csv).findings] == [
        ("seizures", 2, "quantity", "1,5", "type_number", ERROR)
    ]
    result = read_return(semicolon_csv)
    assert result.findings == []
    assert result.seizures.loc[0, "quantity"] == 1.5


# --- faults in the file itself ---------------------------------------------------


def only_file_finding(path: Path, **limits) -> tuple:
    """The single finding reading ``path`` gives; with ``limits``, from inspect_file alone."""
    if limits:
        findings = inspect_file(path, dataclasses.replace(config.limits(), **limits))
    else:
        result = read_return(path)
        assert not result.readable
        assert result.indicators is None and result.seizures is None
        findings = result.findings
    assert len(findings) == 1, findings
    return where(findings[0])


def test_zero_byte_file(tmp_path):
    (tmp_path / "r.xlsx").write_bytes(b"")
    assert only_file_finding(tmp_path / "r.xlsx") == ("file", None, None, 0, "file_empty", ERROR)


def test_random_bytes_named_xlsx(tmp_path):
    (tmp_path / "r.xlsx").write_bytes(random.Random(1).randbytes(4096))
    assert only_file_finding(tmp_path / "r.xlsx") == (
        "file",
        None,
        None,
        "r.xlsx",
        "file_not_xlsx",
        ERROR,
    )


def test_ole2_encrypted_workbook(tmp_path):
    # An encrypted .xlsx is an OLE2 compound file with an EncryptionInfo stream.
    body = OLE2_MAGIC + bytes(504) + "EncryptionInfo".encode("utf-16-le") + bytes(2)
    (tmp_path / "r.xlsx").write_bytes(body + bytes(1024))
    assert only_file_finding(tmp_path / "r.xlsx") == (
        "file",
        None,
        None,
        "r.xlsx",
        "file_encrypted",
        ERROR,
    )


def test_ole2_legacy_xls(tmp_path):
    body = OLE2_MAGIC + bytes(504) + "Workbook".encode("utf-16-le") + bytes(2)
    (tmp_path / "r.xlsx").write_bytes(body + bytes(1024))
    assert only_file_finding(tmp_path / "r.xlsx") == (
        "file",
        None,
        None,
        "r.xlsx",
        "file_legacy_xls",
        ERROR,
    )


def test_macros_are_refused(workbook, tmp_path):
    with_vba = rezip(workbook, tmp_path / "r.xlsx", add={"xl/vbaProject.bin": bytes(512)})
    assert only_file_finding(with_vba) == ("file", None, None, "r.xlsx", "file_macros", ERROR)
    xlsm = rezip(workbook, tmp_path / "r.xlsm")
    assert only_file_finding(xlsm) == ("file", None, None, "r.xlsm", "file_macros", ERROR)


def test_external_links_are_refused(workbook, tmp_path):
    linked = rezip(
        workbook,
        tmp_path / "r.xlsx",
        add={"xl/externalLinks/externalLink1.xml": b"<externalLink/>"},
    )
    assert only_file_finding(linked) == (
        "file",
        None,
        None,
        "xl/externalLinks/externalLink1.xml",
        "file_external_links",
        ERROR,
    )


def test_zip_bomb_by_compression_ratio(workbook, tmp_path):
    # 8 MiB of one byte packs into a few kB: far beyond the configured ratio.
    bomb = rezip(workbook, tmp_path / "r.xlsx", add={"xl/media/image1.bin": b"\0" * (8 << 20)})
    assert bomb.stat().st_size < 100_000
    assert only_file_finding(bomb) == (
        "file",
        None,
        None,
        "xl/media/image1.bin",
        "file_zip_bomb",
        ERROR,
    )


def test_zip_bomb_by_total_size(workbook, tmp_path):
    bomb = rezip(workbook, tmp_path / "r.xlsx", add={"xl/media/image1.bin": b"\0" * (8 << 20)})
    found = only_file_finding(bomb, max_uncompressed_bytes=4 << 20, max_compression_ratio=10**6)
    assert found[4] == "file_zip_bomb"
    assert found[3] > 8 << 20


def test_truncated_workbook(workbook, tmp_path):
    (tmp_path / "r.xlsx").write_bytes(workbook.read_bytes()[: workbook.stat().st_size // 2])
    assert only_file_finding(tmp_path / "r.xlsx")[4] == "file_truncated"


def test_other_zip_named_xlsx(tmp_path):
    with zipfile.ZipFile(tmp_path / "r.xlsx", "w") as z:  # a Word document, renamed
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    assert only_file_finding(tmp_path / "r.xlsx") == (
        "file",
        None,
        None,
        "r.xlsx",
        "file_not_xlsx",
        ERROR,
    )


def test_ods_is_refused(tmp_path):
    for name in ("r.ods", "r.xlsx"):
        with zipfile.ZipFile(tmp_path / name, "w") as z:
            z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
            z.writestr("content.xml", "<office:document-content/>")
        assert only_file_finding(tmp_path / name) == ("file", None, None, name, "file_ods", ERROR)


@pytest.mark.parametrize(
    ("name", "rule"), [("r.pdf", "file_unsupported_type"), ("r.xls", "file_legacy_xls")]
)
def test_other_types_are_refused(tmp_path, name, rule):
    (tmp_path / name).write_bytes(b"%PDF-1.7 not a return")
    assert only_file_finding(tmp_path / name) == ("file", None, None, name, rule, ERROR)


def test_file_over_the_size_limit(workbook):
    found = only_file_finding(workbook, max_file_bytes=1000)
    assert found == ("file", None, None, workbook.stat().st_size, "file_too_large", ERROR)


def test_sheet_over_the_row_limit_is_refused_before_reading(workbook):
    # the indicators sheet reaches row 211 (210 data rows), the seizures sheet row 121
    found = only_file_finding(workbook, max_rows_per_sheet=200)
    assert found == ("file", None, None, "H211", "file_sheet_too_large", ERROR)


def test_damaged_sheet_is_a_finding_not_a_traceback(workbook, tmp_path):
    damaged = rezip(
        workbook,
        tmp_path / "r.xlsx",
        replace={"xl/worksheets/sheet3.xml": b"<worksheet><sheetData><row r='1'><c r='A1' t='s'>"},
    )
    assert inspect_file(damaged) == []
    assert only_file_finding(damaged)[4] == "file_unreadable"


def test_workbook_renamed_csv_is_refused(workbook, tmp_path):
    path = tmp_path / "GE_2026-Q3_seizures.csv"
    path.write_bytes(workbook.read_bytes())
    assert only_file_finding(path)[4] == "file_not_csv"


@pytest.mark.parametrize(
    "name",
    [
        "indicators.csv",
        "GE_2026-Q5_indicators.csv",
        "GE_2026-Q3_victims.csv",
        "GEO_2026-Q3_seizures.csv",
    ],
)
def test_bad_csv_name(sample, tmp_path, name):
    indicators_csv, _ = write_csv(sample, tmp_path)
    path = indicators_csv.rename(tmp_path / name)
    assert only_file_finding(path) == ("file", None, None, name, "file_csv_name", ERROR)


def test_csv_not_utf8(sample, tmp_path):
    path = tmp_path / "GE_2026-Q3_indicators.csv"
    path.write_bytes("crime_area,comment\nTHB,Задержано\n".encode("cp1251"))
    found = only_file_finding(path)
    assert found == ("file", None, None, "line 2", "file_encoding", ERROR)


# --- the sample generator --------------------------------------------------------


def test_sample_content_is_deterministic_per_seed():
    a = sample_content("UA", "2026-Q1", seed=5, seizure_rows=30)
    assert a == sample_content("UA", "2026-Q1", seed=5, seizure_rows=30)
    assert a != sample_content("UA", "2026-Q1", seed=6, seizure_rows=30)


def test_same_sample_gives_the_same_file_bytes(sample, workbook, tmp_path):
    assert fill_template(sample, tmp_path / "again.xlsx").read_bytes() == workbook.read_bytes()


def test_sample_content_abides_by_the_return_rules():
    lists = codelists()
    p = Period.parse("2026-Q2")
    s = sample_content("MD", p.code, seed=2, seizure_rows=400)
    by_key = {(r["crime_area"], r["indicator"], r["breakdown"]): r for r in s.indicators}

    def value(area, indicator, breakdown=None):
        return by_key[(area, indicator, breakdown)]["value"]

    for r in s.indicators:
        ind = lists.indicators[r["indicator"]]
        assert r["unit"] == ind.unit
        assert ind.applies_to(r["crime_area"])
        if r["value"] is None:
            assert r["obs_status"] not in lists.obs_status_value_required
        else:
            assert r["value"] >= 0
            assert not ind.whole_number or isinstance(r["value"], int)
    for area in lists.crime_areas:
        arrested = value(area, "PERSONS_ARRESTED")
        assert arrested == value(area, "PERSONS_ARRESTED", "NATIONAL") + value(
            area, "PERSONS_ARRESTED", "FOREIGN"
        )
        assert value(area, "PERSONS_CHARGED") <= arrested
        assert value(area, "PERSONS_CONVICTED") <= value(area, "PERSONS_CHARGED")
    assert {r["crime_area"] for r in s.indicators if r["indicator"] == "VICTIMS_IDENTIFIED"} == {
        "THB",
        "CSE",
    }
    assert {"P", "E"} & {r["obs_status"] for r in s.indicators}
    assert "N" in {r["conf_status"] for r in s.indicators}

    assert s.metadata["handling_code"] == "PROGRAMME"
    assert len({r["seizure_ref"] for r in s.seizures}) == len(s.seizures)
    for r in s.seizures:
        assert r["unit"] in lists.commodities[r["commodity"]].units
        assert p.contains(r["seizure_date"])
        assert r["quantity"] > 0
        for c in ("origin_country", "departure_country", "destination_country"):
            assert r[c] is None or r[c] in lists.countries
        assert r["transport_mode"] in lists.transport_modes
        assert r["ocg_involved"] in lists.ocg_involved
    assert isinstance(s.seizures[0]["seizure_date"], date)


def test_fill_template_refuses_unknown_columns(planted, tmp_path):
    planted.seizures[0]["weight"] = 3
    with pytest.raises(ValueError, match="weight"):
        fill_template(planted, tmp_path / "r.xlsx")
