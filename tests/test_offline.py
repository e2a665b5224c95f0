"""The offline validator (``topcop validate``): the pipeline's findings, before the file is sent.

Files are filled templates (``samples.fill_template``). With a warehouse named in
``TOPCOP_WAREHOUSE_URL`` the figures are compared with the unit's history, and
the findings are those the pipeline then puts in the receipt for the same file.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from topcop import config
from topcop.cli import main
from topcop.i18n import say
from topcop.ingest import process_return
from topcop.landing.local import LocalLanding
from topcop.periods import last_closed_periods
from topcop.returns.samples import SampleReturn, fill_template, sample_content
from topcop.validation.offline import check_file, validate_file
from topcop.warehouse.engine import warehouse_engine
from topcop.warehouse.migrate import migrate

# The command line checks as of the real today: use the last period that has closed.
RECENT = last_closed_periods(datetime.now(UTC).date(), 1)[0].code


@pytest.fixture(autouse=True)
def no_warehouse(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TOPCOP_WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_TOPCOP_WAREHOUSE", raising=False)
    monkeypatch.setenv("TOPCOP_VAR", str(tmp_path / "var"))


def made(tmp_path: Path, sample: SampleReturn, name: str = "return.xlsx") -> Path:
    return fill_template(sample, tmp_path / name)


def good(period: str = RECENT, seed: int = 3) -> SampleReturn:
    return sample_content("MD", period, seed=seed, seizure_rows=10)


def test_good_file_would_be_accepted(tmp_path, capsys):
    path = made(tmp_path, good())

    code = main(["validate", str(path), "--lang", "en", "--country", "md"])

    out = capsys.readouterr().out
    assert code == 0
    assert "Checking return.xlsx for Republic of Moldova (MD)" in out
    assert "NOT compared with earlier periods: no warehouse is configured" in out
    assert out.rstrip().endswith("Would be ACCEPTED: nothing was found to correct.")


def test_bad_file_exits_non_zero_and_says_where_and_what(tmp_path, capsys):
    sample = good()
    sample.indicators[1]["value"] = -5  # row 3
    sample.seizures[0]["origin_country"] = "UK"  # row 2
    sample.metadata["focal_point_ref"] = "someone@mvd.md"  # a warning, row 6
    path = made(tmp_path, sample)

    code = main(["validate", str(path), "--lang", "en", "--country", "MD", "--period", RECENT])

    out = capsys.readouterr().out
    assert code == 1
    lines = out.splitlines()
    heads = [ln for ln in lines if ln.startswith(("ERROR", "WARNING"))]
    assert heads == [
        "ERROR   indicators, row 3, column value",
        "ERROR   seizures, row 2, column origin_country",
        "WARNING metadata, row 6, column focal_point_ref",
    ]
    assert "The value -5 is negative" in out
    assert "UK is not an ISO 3166-1 two-letter country code" in out
    assert "value: 'UK' | rule: expect_column_values_to_be_in_set" in out
    assert "Would be REJECTED: 2 errors and 1 warning." in out


def test_a_file_made_for_another_period_is_caught_with_period(tmp_path, capsys):
    earlier = last_closed_periods(datetime.now(UTC).date(), 2)[0].code
    path = made(tmp_path, good(earlier))

    assert main(["validate", str(path), "--lang", "en", "--country", "MD", "--period", RECENT]) == 1
    out = capsys.readouterr().out
    assert "ERROR   metadata, row 3, column period" in out
    assert f"declares the period {earlier}, not {RECENT}" in out

    assert (
        main(["validate", str(path), "--lang", "en", "--country", "MD", "--period", earlier]) == 0
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--country", "XX"], "XX is not a reporting unit"),
        (["--country", "MD", "--period", "2026-Q9"], "--period:"),
    ],
)
def test_what_cannot_be_checked_exits_2(tmp_path, capsys, args, says):
    path = made(tmp_path, good())

    assert main(["validate", str(path), *args]) == 2
    assert says in capsys.readouterr().out


def test_a_missing_file_exits_2(tmp_path, capsys):
    missing = tmp_path / "nothing.xlsx"
    assert main(["validate", str(missing), "--country", "MD"]) == 2
    # In the unit's language (Romanian for MD), like the rest of the output.
    assert say("There is no file {path}.", {"path": str(missing)}, "ro") in capsys.readouterr().out


def test_a_file_the_pipeline_would_refuse_unread_is_refused_offline_too(tmp_path, capsys):
    path = made(tmp_path, good(), name="MD_" + "r" * 200 + ".xlsx")

    assert main(["validate", str(path), "--lang", "en", "--country", "MD"]) == 1
    assert "file_name_too_long" in capsys.readouterr().out


def test_a_warehouse_that_cannot_be_read_is_said_and_the_check_goes_on(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("TOPCOP_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    path = made(tmp_path, good())

    assert main(["validate", str(path), "--lang", "en", "--country", "MD"]) == 0
    out = capsys.readouterr().out
    assert "NOT compared with earlier periods: the configured warehouse could not be read" in out


# --- the same findings as the pipeline, on the same warehouse --------------------------------

TODAY = date(2026, 5, 15)


def test_offline_and_pipeline_give_identical_findings_history_included(
    tmp_path, capsys, monkeypatch
):
    """A spike against last quarter and a planted error: the offline check and the receipt agree."""
    url = f"sqlite:///{tmp_path / 'var' / 'warehouse.db'}"
    monkeypatch.setenv("TOPCOP_WAREHOUSE_URL", url)
    engine = warehouse_engine(url)
    migrate(engine)
    landing = LocalLanding(config.landing_root())
    landing.ensure_areas()

    def deliver(sample: SampleReturn, name: str, when: datetime) -> Path:
        path = fill_template(sample, landing.area("MD", "inbox") / name)
        os.utime(path, (when.timestamp(), when.timestamp()))
        return path

    # Last quarter's return: the same figures as this quarter's, which is loaded first.
    earlier = sample_content("MD", "2026-Q1", seed=4, seizure_rows=0)
    earlier.period = earlier.metadata["period"] = "2025-Q4"
    deliver(earlier, "MD_2025-Q4.xlsx", datetime(2026, 1, 20, tzinfo=UTC))
    (item,) = landing.list_inbox("MD")
    assert process_return(item, landing=landing, engine=engine, today=TODAY).status == "accepted"

    sample = sample_content("MD", "2026-Q1", seed=4, seizure_rows=0)
    spiked = next(
        r for r in sample.indicators if r["indicator"] == "JOINT_OPERATIONS" and r["value"]
    )
    spiked.update(value=spiked["value"] * 4 + 50, obs_status="A", comment=None)
    sample.indicators[2]["conf_status"] = "Z"
    path = deliver(sample, "MD_2026-Q1.xlsx", datetime(2026, 4, 20, tzinfo=UTC))

    code = validate_file(
        path, country="MD", today=TODAY, lang="en"
    )  # the warehouse from the environment
    out = capsys.readouterr().out
    offline = check_file(path, country="MD", today=TODAY, engine=engine)
    (item,) = landing.list_inbox("MD")
    result = process_return(item, landing=landing, engine=engine, today=TODAY)
    receipt = json.loads(landing.read(*result.receipt.split("/", 2)))

    assert code == 1 and result.status == "rejected"
    assert "Figures were compared with Republic of Moldova's accepted figures" in out
    assert [f["rule"] for f in receipt["findings"]] == [
        "expect_column_values_to_be_in_set",
        "history_change",
    ]
    assert (
        json.loads(json.dumps([f.as_dict(receipt["language"]) for f in offline.findings]))
        == receipt["findings"]
    )
    for finding in receipt["findings"]:
        assert finding["message_en"] in out
