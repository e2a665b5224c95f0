"""A corpus of bad returns, each one fault a focal point could make, through the real pipeline.

Every file is made by code, never committed: the project's rule-abiding sample
content (``samples.sample_content``) with one fault planted, written by filling the
generated template (``fill_template``) or as the documented CSV files
(``write_csv``). Each case drops its file into a local landing, checks it with the
offline validator (``topcop validate``'s ``check_file``) and then runs the real
``process_return`` on the same warehouse, and asserts:

* the receipt lists exactly the expected findings (sheet, row, column, rule),
* the return's status (rejected, accepted with warnings, accepted),
* the offline validator found exactly what the receipt lists.

All cases share one landing and one SQLite warehouse under a temporary
``TOPCOP_VAR`` (and, through ``topcop.validation.suites``, one GX context).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from topcop import config
from topcop.ingest import process_return
from topcop.landing.local import LocalLanding
from topcop.returns.samples import SampleReturn, fill_template, sample_content, write_csv
from topcop.validation.offline import check_file
from topcop.warehouse.engine import warehouse_engine
from topcop.warehouse.migrate import migrate

PERIOD = "2026-Q1"
TODAY = date(2026, 5, 15)  # the period has ended and is still open
DROPPED = datetime(2026, 4, 20, 9, 30, tzinfo=UTC)
FIRST = 2  # the first data row of every sheet

REJECTED, WARNED, ACCEPTED = "rejected", "accepted_with_warnings", "accepted"
IN_SET = "expect_column_values_to_be_in_set"
NOT_NULL = "expect_column_values_to_not_be_null"
BETWEEN = "expect_column_values_to_be_between"
REGEX = "expect_column_values_to_match_regex"
LENGTHS = "expect_column_value_lengths_to_be_between"
PAIR = "expect_column_pair_values_to_be_in_codelist"

Expected = list[tuple[str, int | None, str | None, str]]  # sheet, row, column, rule
# metadata sheet: one field per row from row 2, in the template's order
META_ROW = {
    name: FIRST + i
    for i, name in enumerate(
        (
            "country",
            "period",
            "template_version",
            "submission_date",
            "focal_point_ref",
            "handling_code",
            "remarks",
        )
    )
}


@dataclass(frozen=True)
class Fault:
    name: str
    plant: Callable[[SampleReturn], Expected]  # edits the sample, says what must be found
    status: str
    unit: str = "GE"
    csv: str | None = None  # "indicators" or "seizures": sent as that CSV file
    csv_name: str | None = None  # a file name other than the documented one
    today: date = TODAY


FAULTS: list[Fault] = []


def fault(name: str, status: str, **options: Any):
    def register(plant: Callable[[SampleReturn], Expected]):
        FAULTS.append(Fault(name, plant, status, **options))
        return plant

    return register


def indicator(sample: SampleReturn, crime_area: str, code: str, breakdown: str | None = None):
    """The sample's row for these keys and its row number on the indicators sheet."""
    for number, row in enumerate(sample.indicators, start=FIRST):
        if (row["crime_area"], row["indicator"], row["breakdown"]) == (crime_area, code, breakdown):
            return row, number
    raise LookupError((crime_area, code, breakdown))


def seizure(sample: SampleReturn, index: int, **changes: Any) -> int:
    """Change the seizure at ``index``; its row number on the seizures sheet."""
    sample.seizures[index].update(changes)
    return FIRST + index


def justice_chain(
    sample: SampleReturn, crime_area: str, *, national: int, foreign: int, **later: int
) -> int:
    """Give a crime area's arrests (total and breakdowns), charges and convictions as plain
    figures; the total's row number."""
    figures = {
        ("PERSONS_ARRESTED", None): national + foreign,
        ("PERSONS_ARRESTED", "NATIONAL"): national,
        ("PERSONS_ARRESTED", "FOREIGN"): foreign,
        ("PERSONS_CHARGED", None): later["charged"],
        ("PERSONS_CONVICTED", None): later["convicted"],
    }
    for (code, breakdown), value in figures.items():
        indicator(sample, crime_area, code, breakdown)[0].update(
            value=value, obs_status="A", comment=None
        )
    return indicator(sample, crime_area, "PERSONS_ARRESTED")[1]


def appended(sample: SampleReturn, **row: Any) -> int:
    sample.indicators.append(
        {"breakdown": None, "obs_status": "A", "conf_status": "F", "comment": None, **row}
    )
    return FIRST + len(sample.indicators) - 1


# --- metadata ------------------------------------------------------------------------


@fault("country of another reporting unit", REJECTED)
def _(s):
    s.metadata["country"] = "AM"
    return [("metadata", META_ROW["country"], "country", "country_matches_bucket")]


@fault("country that is no reporting unit", REJECTED)
def _(s):
    s.metadata["country"] = "XK"
    return [("metadata", META_ROW["country"], "country", IN_SET)]


@fault("period that does not exist", REJECTED)
def _(s):
    s.metadata["period"] = "2026-Q5"
    return [("metadata", META_ROW["period"], "period", REGEX)]


@fault("period not yet ended", REJECTED, today=date(2026, 3, 20))
def _(s):
    return [("metadata", META_ROW["period"], "period", "period_has_ended")]


@fault("suspended reporting unit", REJECTED, unit="BY")
def _(s):
    return [("metadata", META_ROW["period"], "period", "reporting_unit_active")]


@fault("submission date missing", WARNED)
def _(s):
    s.metadata["submission_date"] = None
    return [("metadata", META_ROW["submission_date"], "submission_date", NOT_NULL)]


@fault("submission date that is no date", REJECTED)
def _(s):
    s.metadata["submission_date"] = "last Friday"
    return [("metadata", META_ROW["submission_date"], "value", "type_date")]


@fault("submission date before the period ended", WARNED)
def _(s):
    s.metadata["submission_date"] = date(2026, 3, 1)
    return [
        ("metadata", META_ROW["submission_date"], "submission_date", "submission_date_after_period")
    ]


@fault("a person's e-mail as the focal point's reference", WARNED)
def _(s):
    s.metadata["focal_point_ref"] = "nino.beridze@police.ge"
    return [
        ("metadata", META_ROW["focal_point_ref"], "focal_point_ref", "expect_column_values_to_not_match_regex")
    ]  # fmt: skip


@fault("handling code unknown", REJECTED)
def _(s):
    s.metadata["handling_code"] = "SECRET"
    return [("metadata", META_ROW["handling_code"], "handling_code", IN_SET)]


# --- indicators ----------------------------------------------------------------------


@fault("crime area not in the list", REJECTED)
def _(s):
    row, number = indicator(s, "THB", "OCG_IDENTIFIED")
    row["crime_area"] = "TERRORISM"
    return [("indicators", number, "crime_area", IN_SET)]


@fault("victims identified for a drugs crime area", REJECTED)
def _(s):
    number = appended(
        s, crime_area="DRUGS_CCH", indicator="VICTIMS_IDENTIFIED", unit="COUNT", value=4
    )
    return [("indicators", number, "indicator", PAIR)]


@fault("breakdown the indicator does not have", REJECTED)
def _(s):
    row, number = indicator(s, "CYBER", "OCG_IDENTIFIED")
    row["breakdown"] = "FOREIGN"
    return [("indicators", number, "breakdown", PAIR)]


@fault("the same figure twice", REJECTED)
def _(s):
    row, number = indicator(s, "HRCN", "OCG_DISRUPTED")
    copy = appended(s, **row)
    rule = "expect_compound_columns_to_be_unique"
    return [("indicators", number, "indicator", rule), ("indicators", copy, "indicator", rule)]


@fault("negative figure", REJECTED)
def _(s):
    row, number = indicator(s, "CYBER", "INTL_REQUESTS_SENT")
    row.update(value=-13, obs_status="A")
    return [("indicators", number, "value", BETWEEN)]


@fault("fraction in a count", REJECTED)
def _(s):
    row, number = indicator(s, "HRCN", "INVESTIGATIONS_OPENED")
    row.update(value=48.5, obs_status="A")
    return [("indicators", number, "value", REGEX)]


@fault("words in the value column", REJECTED)
def _(s):
    row, number = indicator(s, "HRCN", "JOINT_OPERATIONS")
    row.update(value="about 30", obs_status="A")
    return [("indicators", number, "value", "type_number")]


@fault("value left empty without saying why", REJECTED)
def _(s):
    row, number = indicator(s, "CYBER", "OCG_DISRUPTED")
    row.update(value=None, obs_status="A")
    return [("indicators", number, "value", NOT_NULL)]


@fault("value given for a figure that cannot exist", WARNED)
def _(s):
    row, number = indicator(s, "CYBER", "OCG_DISRUPTED")
    row.update(value=11, obs_status="M")
    return [("indicators", number, "value", "expect_column_values_to_be_null")]


@fault("euros as the unit of a count", REJECTED)
def _(s):
    row, number = indicator(s, "HRCN", "INTL_REQUESTS_RECEIVED")
    row["unit"] = "EUR"
    return [("indicators", number, "unit", PAIR)]


@fault("confidentiality status missing", REJECTED)
def _(s):
    row, number = indicator(s, "THB", "JOINT_OPERATIONS")
    row["conf_status"] = None
    return [("indicators", number, "conf_status", NOT_NULL)]


@fault("comment too long", REJECTED)
def _(s):
    row, number = indicator(s, "CYBER", "JOINT_OPERATIONS")
    row["comment"] = "Operation details. " * 60
    return [("indicators", number, "comment", LENGTHS)]


@fault("total unequal to its breakdowns", REJECTED)
def _(s):
    number = justice_chain(s, "HRCN", national=50, foreign=10, charged=20, convicted=5)
    indicator(s, "HRCN", "PERSONS_ARRESTED")[0]["value"] = 61
    return [("indicators", number, "value", "total_equals_sum_of_breakdowns")]


@fault("more persons charged than arrested", WARNED)
def _(s):
    justice_chain(s, "THB", national=7, foreign=1, charged=12, convicted=1)
    number = indicator(s, "THB", "PERSONS_CHARGED")[1]
    return [("indicators", number, "value", "justice_chain_order")]


@fault("the sheet's last row deleted", WARNED)
def _(s):
    _, number = indicator(s, "DOCFRAUD", "JOINT_OPERATIONS")
    assert number == FIRST + len(s.indicators) - 1
    del s.indicators[-1]
    return [("indicators", None, "indicator", "indicator_rows_complete")]


@fault("a crime area's row left out of the CSV file", WARNED, csv="indicators")
def _(s):
    _, number = indicator(s, "ENV", "OCG_IDENTIFIED")
    del s.indicators[number - FIRST]
    return [("indicators", None, "indicator", "indicator_rows_complete")]


# --- seizures ------------------------------------------------------------------------


@fault("the same seizure reference twice", REJECTED)
def _(s):
    number = seizure(s, 6, seizure_ref=s.seizures[2]["seizure_ref"])
    rule = "expect_column_values_to_be_unique"
    return [("seizures", FIRST + 2, "seizure_ref", rule), ("seizures", number, "seizure_ref", rule)]


@fault("seizure after the period", REJECTED)
def _(s):
    return [("seizures", seizure(s, 3, seizure_date=date(2026, 4, 2)), "seizure_date", BETWEEN)]


@fault("seizure date that is no date", REJECTED)
def _(s):
    return [("seizures", seizure(s, 3, seizure_date="31/02/2026"), "seizure_date", "type_date")]


@fault("commodity not in the list", REJECTED)
def _(s):
    return [("seizures", seizure(s, 4, commodity="KHAT"), "commodity", IN_SET)]


@fault("pieces of cocaine", REJECTED)
def _(s):
    number = seizure(s, 9, commodity="COCAINE", unit="PCS", quantity=3)
    return [("seizures", number, "unit", PAIR)]


@fault("half a firearm", REJECTED)
def _(s):
    number = seizure(s, 5, commodity="FIREARMS", unit="PCS", quantity=2.5)
    return [("seizures", number, "quantity", REGEX)]


@fault("unit typed into the quantity", REJECTED)
def _(s):
    number = seizure(s, 8, commodity="NPS", unit="KG", quantity="1.4 kg")
    return [("seizures", number, "quantity", "type_number")]


@fault("country code that is not ISO", REJECTED)
def _(s):
    return [("seizures", seizure(s, 10, destination_country="UK"), "destination_country", IN_SET)]


# --- CSV files -----------------------------------------------------------------------


@fault("CSV seizures file of another country", REJECTED, csv="seizures")
def _(s):
    s.country = "MD"  # names the file MD_2026-Q1_seizures.csv
    return [("file", None, "country", "country_matches_bucket")]


@fault("CSV file without country and period in its name", REJECTED, csv="seizures", csv_name="seizures.csv")  # fmt: skip
def _(s):
    return [("file", None, None, "file_csv_name")]


# --- running a case --------------------------------------------------------------------


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory):
    """One landing and one warehouse for the whole corpus."""
    var = tmp_path_factory.mktemp("corpus") / "var"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TOPCOP_VAR", str(var))
        patch.delenv("TOPCOP_LANDING_ROOT", raising=False)
        landing = LocalLanding(config.landing_root())
        landing.ensure_areas()
        engine = warehouse_engine(f"sqlite:///{var / 'warehouse.db'}")
        migrate(engine)
        yield landing, engine
        engine.dispose()


_names = count(1)


def write(sample: SampleReturn, f: Fault, inbox: Path) -> Path:
    """The file the focal point sends: the filled template, or one of the CSV files."""
    if f.csv is None:
        return fill_template(sample, inbox / f"{f.unit}_{PERIOD}_case{next(_names):02d}.xlsx")
    with tempfile.TemporaryDirectory() as tmp:
        made = next(p for p in write_csv(sample, Path(tmp)) if f.csv in p.name)
        return Path(shutil.move(made, inbox / (f.csv_name or made.name)))


# Cases also checked with the offline validator, on the same warehouse, before the
# pipeline takes them: one or more from each sheet, the reader's own findings, warnings
# and a file refused by name. (Both run one function, check_return; checking every case
# twice would double this file's time for no new assurance.)
OFFLINE_CHECKED = {
    "country of another reporting unit",
    "submission date that is no date",
    "a person's e-mail as the focal point's reference",
    "the same figure twice",
    "words in the value column",
    "total unequal to its breakdowns",
    "more persons charged than arrested",
    "the same seizure reference twice",
    "seizure date that is no date",
    "CSV file without country and period in its name",
}


def run(
    pipeline, f: Fault, sample: SampleReturn, *, offline: bool
) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
    """The receipt the pipeline writes and, if asked, the findings the offline validator gives."""
    landing, engine = pipeline
    path = write(sample, f, landing.area(f.unit, "inbox"))
    os.utime(path, (DROPPED.timestamp(), DROPPED.timestamp()))
    checked = None
    if offline:
        found = check_file(path, country=f.unit, today=f.today, engine=engine).findings
        lang = config.codelists().reporting_units[f.unit].language  # the receipt's language
        checked = json.loads(json.dumps([x.as_dict(lang) for x in found]))
    (item,) = landing.list_inbox(f.unit)
    result = process_return(item, landing=landing, engine=engine, today=f.today)
    unit, area, name = result.receipt.split("/", 2)
    return json.loads(landing.read(unit, area, name)), checked


def test_the_corpus_covers_every_sheet_with_enough_faults():
    sheets = {f.name: f.plant(good(f.unit))[0][0] for f in FAULTS}
    assert len(FAULTS) >= 25
    assert {"metadata", "indicators", "seizures", "file"} <= set(sheets.values())
    assert set(sheets) >= OFFLINE_CHECKED
    assert {sheets[name] for name in OFFLINE_CHECKED} == set(sheets.values())


def good(unit: str = "GE") -> SampleReturn:
    return sample_content(unit, PERIOD, seed=7, seizure_rows=12)


@pytest.mark.parametrize("f", FAULTS, ids=[f.name for f in FAULTS])
def test_bad_return(pipeline, f: Fault):
    sample = good(f.unit)
    expected = f.plant(sample)

    receipt, offline = run(pipeline, f, sample, offline=f.name in OFFLINE_CHECKED)

    found = [(x["sheet"], x["row"], x["column"], x["rule"]) for x in receipt["findings"]]
    assert found == expected
    assert receipt["status"] == f.status
    assert all(x["message"] for x in receipt["findings"])
    if offline is not None:
        assert offline == receipt["findings"]  # topcop validate says what the receipt says
    area = "quarantine" if f.status == REJECTED else "archive"
    assert receipt["location"].startswith(f"{f.unit}/{area}/")


@pytest.mark.parametrize("csv", [None, "indicators", "seizures"])
def test_good_return_has_no_finding(pipeline, csv):
    f = Fault("good", lambda s: [], ACCEPTED, csv=csv)

    receipt, offline = run(pipeline, f, good(), offline=True)

    assert receipt["findings"] == [] and offline == []
    assert receipt["status"] == ACCEPTED
