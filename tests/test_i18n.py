"""Languages: every message in every catalog, placeholders intact, receipts in the unit's language.

The catalogs are checked as Babel parses them; the receipt comes from a real
broken return read and validated by the pipeline's own functions.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from openpyxl import load_workbook

from topcop import config
from topcop.i18n import LANGUAGES, LOCALE_DIR, SOURCE, language, msgn, placeholders, say
from topcop.receipts import FINDINGS_SHEET, SUMMARY_SHEET, Receipt
from topcop.returns.samples import fill_template, sample_content
from topcop.validation.check import check_return

ROOT = Path(__file__).resolve().parents[1]
TRANSLATED = [lang for lang in LANGUAGES if lang != SOURCE]
# Letters of each script: a translation in that language must use them.
SCRIPTS = {
    "ru": ("\u0400", "\u04ff"),
    "uk": ("\u0400", "\u04ff"),
    "ka": ("\u10a0", "\u10ff"),
    "hy": ("\u0530", "\u058f"),
}


def _catalog(lang: str):
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / "topcop.po", "rb") as f:
        return read_po(f, locale=lang)


def _forms(text: str | tuple[str, ...]) -> tuple[str, ...]:
    """A message's forms: one, or each plural form."""
    return (text,) if isinstance(text, str) else tuple(text)


def _template_ids() -> set[str]:
    with open(LOCALE_DIR / "topcop.pot", "rb") as f:
        return {m.id for m in read_po(f) if m.id}


def test_the_template_holds_every_message_the_sources_mark():
    """A msg(...) added in code, a suite message or a codelist label must reach the catalogs."""
    from babel.messages.frontend import parse_mapping_cfg

    with open(ROOT / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = {
        message
        for _, _, message, _, _ in extract_from_dir(
            ROOT, method_map, options_map, keywords={"msg": None, "msgn": (1, 2)}
        )
    }
    assert found == _template_ids(), "run `make i18n-update` and translate the new messages"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_message_is_translated_with_its_placeholders(lang):
    catalog = _catalog(lang)
    messages = {m.id: m.string for m in catalog if m.id}
    assert set(messages) == _template_ids()
    untranslated = [mid for mid, text in messages.items() if not all(_forms(text))]
    assert untranslated == []
    plurals = {mid: len(_forms(text)) for mid, text in messages.items() if not isinstance(mid, str)}
    assert set(plurals.values()) <= {catalog.num_plurals}
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert fuzzy == []
    wrong = {
        mid: text
        for mid, text in messages.items()
        for form in _forms(text)
        if placeholders(form) != placeholders(_forms(mid)[0])
    }
    assert wrong == {}
    # Babel's own checkers (python-format and friends) find nothing either.
    assert [(m.id, errors) for m, errors in catalog.check() if errors] == []


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_are_written_in_the_language_not_copied(lang):
    messages = {m.id: m.string for m in _catalog(lang) if m.id}
    # Codes and names that read the same (Status in Azerbaijani, Belarus in Romanian) are few.
    same = [mid for mid, text in messages.items() if _forms(text)[0] == _forms(mid)[0]]
    assert len(same) <= 3, same
    if lang in SCRIPTS:
        low, high = SCRIPTS[lang]
        latin_only = [
            t for t in messages.values() if not any(low <= ch <= high for ch in "".join(_forms(t)))
        ]
        assert len(latin_only) <= 1, latin_only  # "SHA-256 ..." may keep Latin letters only


@pytest.mark.parametrize("lang", TRANSLATED)
def test_each_catalog_says_it_awaits_review_by_a_native_speaker(lang):
    header = _catalog(lang).header_comment
    assert "awaits review by a native" in header
    assert "speaker of the programme" in header


def test_each_unit_has_its_default_language_and_a_request_wins():
    units = config.codelists().reporting_units
    assert {code: u.language for code, u in units.items()} == {
        "AM": "hy",
        "AZ": "az",
        "BY": "ru",
        "GE": "ka",
        "MD": "ro",
        "UA": "uk",
    }
    assert language(None, "GE") == "ka"
    assert language("ru", "GE") == "ru"
    assert language(" RU ", "AM") == "ru"
    assert language("xx", "AZ") == "az"  # a language we do not have: the unit's own
    assert language(None, None) == "en"


def test_numbers_and_dates_follow_the_language():
    template = "The quantity {quantity} is negative."
    assert say(template, {"quantity": -1234.5}, "en") == "The quantity -1234.5 is negative."
    assert "-1\xa0234,5" in say(template, {"quantity": -1234.5}, "ru")
    assert "-1.234,5" in say(template, {"quantity": -1234.5}, "az")
    dated = "The seizure date {seizure_date} is outside the reporting period {period}: report the seizure in the return for the period in which it happened."
    uk = say(dated, {"seizure_date": date(2026, 4, 1), "period": "2026-Q1"}, "uk")
    assert "1 квітня 2026" in uk and "2026-Q1" in uk


# --- a rejected receipt in the unit's language --------------------------------------------


@pytest.fixture(scope="module")
def rejected_file(tmp_path_factory) -> Path:
    """A Georgian return with a wrong handling code and an unknown crime area."""
    sample = sample_content("GE", "2026-Q1", seed=16, seizure_rows=5)
    sample.metadata["handling_code"] = "SECRET"
    sample.indicators[0]["crime_area"] = "NOPE"
    return fill_template(sample, tmp_path_factory.mktemp("i18n") / "GE_2026-Q1_return.xlsx")


@pytest.fixture(scope="module")
def rejected(rejected_file):
    """The findings of that return, checked for real."""
    checked = check_return(rejected_file, reporting_unit="GE", today=date(2026, 5, 2))
    assert {f.value for f in checked.findings} >= {"SECRET", "NOPE"}
    return checked.findings


def _receipt(findings, lang: str) -> Receipt:
    stored = "20260420T093000Z_0123456789ab_GE_2026-Q1_return.xlsx"
    return Receipt(
        reporting_unit="GE",
        file_name="GE_2026-Q1_return.xlsx",
        stored_name=stored,
        sha256="0" * 64,
        size_bytes=1,
        received_at=datetime(2026, 4, 20, 9, 30, tzinfo=UTC),
        processed_at=datetime(2026, 4, 20, 9, 45, tzinfo=UTC),
        status="rejected",
        location=f"GE/quarantine/{stored}",
        findings=findings,
        language=lang,
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_rejected_receipt_speaks_the_language_and_keeps_the_english(rejected, lang):
    data = json.loads(_receipt(rejected, lang).to_json())
    english = json.loads(_receipt(rejected, SOURCE).to_json())
    assert data["language"] == lang
    assert data["message_en"] == english["message"]
    handling = next(f for f in data["findings"] if f["value"] == "SECRET")
    assert (
        handling["message_id"]
        == "{handling_code} is not a handling code (see the codelists sheet)."
    )
    assert handling["message_en"] == "SECRET is not a handling code (see the codelists sheet)."
    assert "SECRET" in handling["message"]
    # Everything but the words is the same in every language.
    strip = ("message", "where", "language")
    assert [{k: v for k, v in f.items() if k not in strip} for f in data["findings"]] == [
        {k: v for k, v in f.items() if k not in strip} for f in english["findings"]
    ]
    if lang != SOURCE:
        assert data["message"] != english["message"]
        assert all(f["message"] != f["message_en"] for f in data["findings"])


@pytest.mark.parametrize("lang", ["ka", "hy"])
def test_a_receipt_workbook_holds_georgian_and_armenian_text(rejected, lang):
    low, high = SCRIPTS[lang]
    content = _receipt(rejected, lang).to_xlsx()
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        parts = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        # openpyxl writes non-ASCII letters as character references: read them as XML does.
        xml = "".join("".join(ElementTree.fromstring(archive.read(n)).itertext()) for n in parts)
    assert sum(low <= ch <= high for ch in xml) > 200
    assert "?" * 3 not in xml
    wb = load_workbook(io.BytesIO(content))
    assert wb.sheetnames == [SUMMARY_SHEET, FINDINGS_SHEET]  # sheet names stay codes
    label = wb[SUMMARY_SHEET].cell(3, 1).value
    assert any(low <= ch <= high for ch in label)


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["ka", "hy"])
def test_a_receipt_in_georgian_or_armenian_prints_its_letters(rejected, lang, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None or shutil.which("pdftotext") is None:
        missing = "LibreOffice (soffice) or poppler-utils (pdftotext) is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing}; .ci/run installs libreoffice-calc and poppler-utils")
        pytest.skip(missing)
    book = tmp_path / f"receipt_{lang}.xlsx"
    book.write_bytes(_receipt(rejected, lang).to_xlsx())
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(book)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / f"receipt_{lang}.pdf"), "-"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    low, high = SCRIPTS[lang]
    status = say("Rejected", None, lang)
    assert status in text
    assert sum(low <= ch <= high for ch in text) > 100
    assert "\ufffd" not in text


# --- topcop validate --------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_validate_speaks_the_language_asked_for(rejected_file, rejected, lang, capsys):
    from topcop.cli import main

    assert main(["validate", str(rejected_file), "--country", "GE", "--lang", lang]) == 1
    out = capsys.readouterr().out
    errors = sum(f.severity == "error" for f in rejected)
    verdict = say(
        "Would be REJECTED: {errors} and {warnings}. "
        "Correct the errors and check the file again before sending it.",
        {
            "errors": msgn("{n} error", "{n} errors", errors, lang),
            "warnings": msgn("{n} warning", "{n} warnings", len(rejected) - errors, lang),
        },
        lang,
    )
    assert out.rstrip().endswith(verdict)
    for finding in rejected:
        assert finding.message_in(lang) in out
    assert "indicators, row" in out  # sheet names and columns stay codes
    label = say("value: {value} | rule: {rule}", {"value": "'SECRET'", "rule": "X"}, lang)
    assert label.split("'SECRET'")[0] in out  # the labels of value and rule are in the language
    if lang != SOURCE:
        assert "| rule: " not in out


def test_validate_speaks_the_units_language_by_default(rejected_file, capsys):
    from topcop.cli import main

    assert main(["validate", str(rejected_file), "--country", "GE"]) == 1
    out = capsys.readouterr().out
    assert "SECRET არ არის დამუშავების კოდი" in out
    assert "უარყოფილი იქნება" in out


def test_plural_forms_follow_the_language():
    assert msgn("{n} error", "{n} errors", 1, "en") == "1 error"
    assert msgn("{n} error", "{n} errors", 2, "en") == "2 errors"
    assert [msgn("{n} error", "{n} errors", n, "ru") for n in (1, 3, 5, 21)] == [
        "1 ошибка",
        "3 ошибки",
        "5 ошибок",
        "21 ошибка",
    ]
    assert msgn("{n} error", "{n} errors", 20, "ro") == "20 de erori"


def test_a_message_quoting_a_phrase_and_a_figure_says_both_in_the_language():
    """History warnings nest phrases (msg) and figures (Number): each said in the language."""
    import pickle

    from topcop.i18n import Number, msg

    change = msg(
        "up from {before} in {previous} ({ratio} times as much)",
        before=Number(1234),
        previous="2025-Q4",
        ratio=Number(3.5, digits=1),
    )
    verdict = msg(
        "{change}. {unit}'s figures for {span}: {summary}.",
        change=change,
        unit=msg("Georgia"),
        span="2025-Q4",
        summary=Number(40.5),
    )
    assert (
        verdict
        == "up from 1,234 in 2025-Q4 (3.5 times as much). Georgia's figures for 2025-Q4: 40.50."
    )
    ru = verdict.in_language("ru")
    assert "1\xa0234" in ru and "3,5" in ru and "40,5" in ru and "Грузия" in ru
    assert "up from" not in ru
    again = pickle.loads(pickle.dumps(verdict))  # as XCom and worker processes carry it
    assert again == verdict and again.in_language("ka") == verdict.in_language("ka")


# --- the reader's and the rules' findings in the unit's language ---------------------------

# Three or more Latin words in a row: an English sentence left in a translated message.
# (Menu paths such as "File > Save As" and codes such as expect_column_values_to_be_in_set
# are shorter or one word.)
_ENGLISH_RUN = re.compile(r"[A-Za-z]{2,}(?:[ ,]+[A-Za-z]{2,}){2,}")


@pytest.fixture(scope="module")
def misread(tmp_path_factory) -> list:
    """A Georgian return sent through Armenia's bucket, with text in a number column and a
    column deleted: findings from the reader (type, column) and from the rules (country)."""
    from openpyxl import load_workbook as load

    sample = sample_content("GE", "2026-Q1", seed=17, seizure_rows=5)
    sample.indicators[0]["value"] = "twelve"
    path = fill_template(sample, tmp_path_factory.mktemp("i18n-reader") / "GE_2026-Q1_return.xlsx")
    wb = load(path)
    seizures = wb["seizures"]
    header = [c.value for c in seizures[1]]
    seizures.delete_cols(header.index("origin_country") + 1)
    wb.save(path)
    return check_return(path, reporting_unit="AM", today=date(2026, 5, 2)).findings


def _english_left(message: str, params: dict) -> list[str]:
    """Runs of English words in ``message`` that none of its parameters' values explain."""
    for value in params.values():
        message = message.replace(str(value), " ")
    return _ENGLISH_RUN.findall(message)


@pytest.mark.parametrize("lang", ["ka", "ru"])
def test_reader_and_rule_findings_are_said_in_the_language(misread, lang):
    rules = {f.rule for f in misread}
    assert {"type_number", "column_missing", "country_matches_bucket"} <= rules
    data = json.loads(_receipt(misread, lang).to_json())
    low, high = SCRIPTS[lang]
    for finding in data["findings"]:
        assert finding["message"] != finding["message_en"], finding["rule"]
        assert any(low <= ch <= high for ch in finding["message"]), finding["message"]
        assert _english_left(finding["message"], finding["params"]) == [], finding["message"]
    by_rule = {f["rule"]: f for f in data["findings"]}
    assert by_rule["type_number"]["message_en"].startswith("'twelve' is not a number.")
    assert "'twelve'" in by_rule["type_number"]["message"]
    country = by_rule["country_matches_bucket"]
    assert country["message_id"].startswith("This file was delivered to the bucket of {owner}")
    # The unit names are codelist labels, said in the language too.
    armenia = say("Armenia", None, lang)
    assert armenia != "Armenia" and armenia in country["message"]


def test_every_reader_and_rule_message_has_its_template(misread):
    """Each finding's message is a catalogued template, not an English f-string."""
    ids = _template_ids()
    assert [f.rule for f in misread if f.message_id not in ids] == []


def test_a_label_quoted_mid_sentence_and_a_sum_are_said_in_the_language():
    """The justice-chain and total rules quote a lower-cased label and a sum of breakdowns."""
    import pickle

    from topcop.i18n import Lowered, joined, msg

    label = Lowered("Persons arrested")
    assert label == "persons arrested"
    assert label.in_language("ru") == "арестованные лица"
    terms = joined(
        " + ", [msg("{breakdown} {value} (row {row})", breakdown="NATIONAL", value=1234, row=3)] * 2
    )
    assert terms == "NATIONAL 1234 (row 3) + NATIONAL 1234 (row 3)"
    assert terms.in_language("uk") == "NATIONAL 1\xa0234 (рядок 3) + NATIONAL 1\xa0234 (рядок 3)"
    for phrase in (label, terms):
        again = pickle.loads(pickle.dumps(phrase))
        assert again == phrase and again.in_language("ka") == phrase.in_language("ka")
