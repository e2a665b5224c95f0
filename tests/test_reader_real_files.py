"""Returns as focal points' real programs write them: read as what they say, or refused truly.

Three kinds of valid return were misjudged: a spreadsheet's CSV export of a
date-time column in a Russian or Ukrainian locale, a workbook written by pandas with
its default index column, and findings that quoted ``nan`` for a cell the file
leaves empty. The files here are made by the programs that write them on a
focal point's machine (pandas; LibreOffice headless, with the locale set in a
profile of its own), not imitated by hand, wherever this machine has the program.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from topcop.cli import main
from topcop.returns.model import INDICATORS_SHEET, METADATA_SHEET, SEIZURES_SHEET
from topcop.returns.reader import read_return
from topcop.returns.samples import SampleReturn, fill_template, sample_content, write_csv

COUNTRY, PERIOD = "UA", "2026-Q3"
DAY = date(2026, 9, 24)
# How "no value" is spelt by Python, numpy and pandas: never what a file holds.
NO_VALUE_WORDS = re.compile(r"(?<![\w<])(nan|NaN|None|NaT|<NA>)(?![\w>])")


@pytest.fixture(scope="module")
def sample() -> SampleReturn:
    return sample_content(COUNTRY, PERIOD, seed=5, seizure_rows=30)


def errors(ret) -> list:
    return [f for f in ret.findings if f.severity == "error"]


# --- 1. day-first locale date-times at midnight ---------------------------------


def _soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice (soffice) is not installed; .ci/run installs it")
        pytest.skip("LibreOffice (soffice) is not installed")
    return found


def _libreoffice_csv(workbook: Path, locale: str, out: Path) -> Path:
    """``workbook`` saved as CSV by LibreOffice headless whose locale is ``locale``.

    Separated by semicolons, as in the locales that write a decimal comma.
    """
    profile = out / f"profile-{locale}"
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
        'xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<item oor:path="/org.openoffice.Setup/L10N"><prop oor:name="ooSetupSystemLocale" '
        f'oor:op="fuse"><value>{locale}</value></prop></item></oor:items>\n',
        encoding="utf-8",
    )
    target = out / locale
    subprocess.run(
        [
            _soffice(),
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):59,34,76",  # semicolon, double quote, UTF-8
            "--outdir",
            str(target),
            str(workbook),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return target / f"{workbook.stem}.csv"


@pytest.mark.parametrize("locale", ["ru-RU", "uk-UA"])
def test_a_libreoffice_csv_export_of_date_times_reads_midnight_as_the_date(
    sample, tmp_path, locale
):
    # The seizures as a focal point keeps them: dates typed into a date-time column
    # (the locale's own date-time format, number format 22), then saved as CSV.
    rows = sample.seizures[:3]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SEIZURES_SHEET
    columns = list(rows[0])
    ws.append(columns)
    for row in rows:
        ws.append([row[c] for c in columns])
    at = columns.index("seizure_date") + 1
    for r in range(2, len(rows) + 2):
        cell = ws.cell(r, at)
        cell.value = datetime.combine(cell.value, datetime.min.time())
        cell.number_format = "m/d/yy h:mm"  # built-in 22: the locale's date and time
    ws.cell(len(rows) + 1, at).value = datetime(2026, 9, 24, 13, 45)
    source = tmp_path / "seizures.xlsx"
    wb.save(source)

    exported = _libreoffice_csv(source, locale, tmp_path)
    text = exported.read_text(encoding="utf-8")
    assert re.search(r"\d\d\.\d\d\.2026 0:00;", text), text  # the locale's own form
    path = tmp_path / f"{COUNTRY}_{PERIOD}_seizures.csv"
    path.write_text(text, encoding="utf-8")

    ret = read_return(path)

    dates = [d.date() if pd.notna(d) else None for d in ret.seizures["seizure_date"]]
    assert dates[:-1] == [row["seizure_date"] for row in rows[:-1]]
    (refused,) = [f for f in errors(ret) if f.column == "seizure_date"]
    assert refused.row == len(rows) + 1 and refused.rule == "type_date"
    assert refused.value == "24.09.2026 13:45"
    assert "'24.09.2026 13:45'" in refused.message and "time of day (13:45)" in refused.message


@pytest.mark.parametrize(
    "written",
    ["24.09.2026 0:00", "24.09.2026 00:00", "24.09.2026 00:00:00", "24.09.2026, 0:00",
     "24.09.2026 0:00:00.000", "24.09.2026"],
)  # fmt: skip
def test_a_day_first_date_at_midnight_is_that_date(sample, tmp_path, written):
    planted = SampleReturn(COUNTRY, PERIOD, seizures=[dict(sample.seizures[0])])
    planted.seizures[0]["seizure_date"] = written
    _, path = write_csv(planted, tmp_path)

    ret = read_return(path)

    assert [f for f in errors(ret) if f.column == "seizure_date"] == []
    assert ret.seizures["seizure_date"].iloc[0] == pd.Timestamp(DAY)


@pytest.mark.parametrize("written", ["24.09.2026 13:45", "24.09.2026 0:01", "24.09.2026 00:00:01"])
def test_a_day_first_date_with_a_time_of_day_is_refused_saying_so(sample, tmp_path, written):
    planted = SampleReturn(COUNTRY, PERIOD, seizures=[dict(sample.seizures[0])])
    planted.seizures[0]["seizure_date"] = written
    _, path = write_csv(planted, tmp_path)

    (refused,) = [f for f in errors(read_return(path)) if f.column == "seizure_date"]

    assert (refused.row, refused.value, refused.rule) == (2, written, "type_date")
    assert f"'{written}'" in refused.message and "time of day" in refused.message


def test_a_submission_date_written_with_midnight_is_that_date(sample, tmp_path):
    planted = SampleReturn(COUNTRY, PERIOD, dict(sample.metadata), sample.indicators, [])
    planted.metadata["submission_date"] = "24.09.2026 0:00"

    ret = read_return(fill_template(planted, tmp_path / "r.xlsx"))

    assert ret.metadata["submission_date"] == DAY
    assert [f for f in ret.findings if f.sheet == METADATA_SHEET] == []


# --- 2. findings quote the file, never "nan" -------------------------------------


def test_a_tab_separated_csv_is_refused_as_such(sample, tmp_path, capsys):
    comma = write_csv(sample, tmp_path / "comma")
    for original in comma:
        path = tmp_path / original.name
        frame = pd.read_csv(original, dtype=str, keep_default_na=False)
        frame.to_csv(path, sep="\t", index=False)  # as pandas writes a TSV

        ret = read_return(path)

        assert [(f.sheet, f.rule, f.value) for f in ret.findings] == [
            ("file", "file_csv_separator", "tab")
        ]
        assert "separated by tabs" in ret.findings[0].message
        assert main(["validate", str(path), "--lang", "en", "--country", COUNTRY]) == 1
        out = capsys.readouterr().out
        assert "separated by tabs" in out
        assert NO_VALUE_WORDS.search(out) is None, out


def test_a_header_without_a_column_says_empty_not_nan(sample, tmp_path, capsys):
    # A seizures CSV without its region and commodity columns: each is missing, and no
    # finding on a row quotes a value the file does not hold.
    _, original = write_csv(sample, tmp_path / "full")
    frame = pd.read_csv(original, dtype=str, keep_default_na=False)
    path = tmp_path / original.name
    frame.drop(columns=["region", "commodity"]).to_csv(path, index=False)

    code = main(["validate", str(path), "--lang", "en", "--country", COUNTRY])

    out = capsys.readouterr().out
    assert code == 1
    assert "no column 'region'" in out and "no column 'commodity'" in out
    assert NO_VALUE_WORDS.search(out) is None, out
    ret = read_return(path)
    assert ret.seizures["region"].isna().all()


# --- 3. workbooks written by pandas ----------------------------------------------


def _pandas_workbook(sample: SampleReturn, path: Path, **to_excel) -> Path:
    """The return as a pandas user writes it: one ``to_excel`` per sheet, defaults kept."""
    metadata = pd.DataFrame(
        {"field": list(sample.metadata), "value": list(sample.metadata.values())}
    )
    with pd.ExcelWriter(path) as writer:
        metadata.to_excel(writer, sheet_name=METADATA_SHEET, **to_excel)
        pd.DataFrame(sample.indicators).to_excel(writer, sheet_name=INDICATORS_SHEET, **to_excel)
        pd.DataFrame(sample.seizures).to_excel(writer, sheet_name=SEIZURES_SHEET, **to_excel)
    return path


@pytest.mark.parametrize("index", [True, False])
def test_a_workbook_written_by_pandas_reads_as_the_template_does(sample, tmp_path, index):
    written = _pandas_workbook(sample, tmp_path / "pandas.xlsx", index=index)
    if index:  # the default: an unnamed index column 0, 1, 2 ... first on every sheet
        ws = openpyxl.load_workbook(written)[METADATA_SHEET]
        assert (ws["A1"].value, ws["A2"].value, ws["B2"].value) == (None, 0, "country")

    ours = read_return(written)
    template = read_return(fill_template(sample, tmp_path / "template.xlsx"))

    assert errors(ours) == []
    # The template adds the optional receipts' language (the unit's); the pandas file has none.
    assert template.metadata.pop("language") == "uk"
    assert ours.metadata == template.metadata
    for dataset in (INDICATORS_SHEET, SEIZURES_SHEET):
        pd.testing.assert_frame_equal(
            ours.table(dataset), template.table(dataset), check_dtype=False
        )


def test_a_pandas_workbook_passes_validation(sample, tmp_path, capsys):
    path = _pandas_workbook(sample, tmp_path / "pandas.xlsx")

    code = main(["validate", str(path), "--lang", "en", "--country", COUNTRY])

    out = capsys.readouterr().out
    assert "country code is missing" not in out.lower()
    assert code == 0, out


def test_metadata_keys_are_found_in_whichever_column_holds_them(sample, tmp_path):
    wb = openpyxl.load_workbook(fill_template(sample, tmp_path / "t.xlsx"))
    wb[METADATA_SHEET].insert_cols(1, 2)  # two columns of notes before the fields
    wb[METADATA_SHEET]["A3"] = "see below"
    wb.save(tmp_path / "moved.xlsx")

    ret = read_return(tmp_path / "moved.xlsx")

    assert ret.metadata["country"] == COUNTRY and ret.metadata["period"] == PERIOD
    assert [f for f in ret.findings if f.sheet == METADATA_SHEET] == []


def test_a_metadata_sheet_without_field_names_says_what_it_holds_where(sample, tmp_path):
    wb = openpyxl.load_workbook(fill_template(sample, tmp_path / "t.xlsx"))
    ws = wb[METADATA_SHEET]
    ws.delete_rows(1, ws.max_row)
    ws["A1"], ws["B1"] = "Код страны", "Период"  # the fields under headers of one's own
    ws["A2"], ws["B2"] = "UA", "2026-Q3"
    wb.save(tmp_path / "flat.xlsx")

    ret = read_return(tmp_path / "flat.xlsx")

    metadata = [f for f in ret.findings if f.sheet == METADATA_SHEET]
    assert [(f.rule, f.severity) for f in metadata] == [("metadata_layout", "error")]
    message = metadata[0].message
    assert "A1: 'Код страны'" in message and "B2: '2026-Q3'" in message


def test_validation_gives_no_wrong_reason_for_metadata_it_cannot_place(sample, tmp_path, capsys):
    wb = openpyxl.load_workbook(fill_template(sample, tmp_path / "t.xlsx"))
    ws = wb[METADATA_SHEET]
    ws.delete_rows(1, ws.max_row)
    ws["A1"], ws["B1"] = "Код страны", "Период"
    ws["A2"], ws["B2"] = COUNTRY, PERIOD
    wb.save(tmp_path / "flat.xlsx")

    code = main(["validate", str(tmp_path / "flat.xlsx"), "--lang", "en", "--country", COUNTRY])

    out = capsys.readouterr().out
    assert code == 1
    heads = [ln for ln in out.splitlines() if ln.startswith(("ERROR", "WARNING"))]
    assert "ERROR   metadata" in heads
    assert "country code is missing" not in out and "rule: metadata_layout" in out
