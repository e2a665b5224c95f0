"""History-aware warnings: a planted spike is named with its history; a steady series is left alone.

The judgement itself is tested on plain series; the query on a warehouse (SQLite
and PostgreSQL, ``warehouse`` fixture) holding a synthetic history of accepted
returns made with the project's sample generator.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine

from topcop.periods import Period
from topcop.returns.model import INDICATOR_COLUMNS, ROW, ReturnFile
from topcop.returns.samples import SampleReturn, sample_content
from topcop.validation.history import (
    CHANGE,
    OUTLIER,
    OutlierSettings,
    earlier_periods,
    history_findings,
    history_results,
    judge,
    outlier_settings,
    robust_z,
)
from topcop.warehouse.load import ReceivedFile, record_submission

SETTINGS = OutlierSettings(
    periods=8,
    min_history=4,
    z_threshold=3.5,
    ratio_threshold=3,
    min_change={"COUNT": 20, "EUR": 100_000, "default": 20},
)
PERIOD = Period.parse("2026-Q1")
EARLIER = earlier_periods(PERIOD, 8)  # 2024-Q1 ... 2025-Q4
STEADY = [40, 44, 38, 42, 41, 39, 43, 40]  # a count that moves a little every quarter
KEY = ("THB", "OCG_IDENTIFIED", None)


def series(values: list[float]) -> dict[Period, float]:
    """``values`` as the figures of the periods just before 2026-Q1, the last one latest."""
    return dict(zip(EARLIER[-len(values) :], values, strict=True))


def judged(value: float, values: list[float], min_change: float = 20):
    return judge(
        value,
        series(values),
        previous=EARLIER[-1],
        settings=SETTINGS,
        min_change=min_change,
        unit_name="Georgia",
    )


# --- the judgement ----------------------------------------------------------------------


def test_the_periods_before_are_the_last_n_of_the_same_frequency():
    assert [p.code for p in EARLIER] == [
        "2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4",
    ]  # fmt: skip
    assert [p.code for p in earlier_periods(Period.parse("2026-M02"), 3)] == [
        "2025-M11",
        "2025-M12",
        "2026-M01",
    ]


def test_robust_z_uses_median_and_mad():
    # median 40.5, median absolute deviation 1.5
    assert robust_z(50, STEADY) == pytest.approx(0.6745 * 9.5 / 1.5)
    assert robust_z(40.5, STEADY) == 0
    # More than half the figures equal: the mean absolute deviation stands in.
    assert robust_z(12, [10, 10, 10, 10, 14]) == pytest.approx(2 / (1.253314 * 0.8))


def test_steady_series_gives_no_warning():
    for value in (36, 40, 45, 47):
        assert judged(value, STEADY) is None, value


def test_spike_is_an_outlier_with_its_historical_range():
    rule, message = judged(140, STEADY)

    assert rule == OUTLIER
    assert "far outside Georgia's own figures for the 8 earlier periods (2024-Q1 to 2025-Q4)" in (
        message
    )
    assert "between 38 and 44, median 40.50" in message
    assert "up from 40 in 2025-Q4 (3.5 times as much)" in message


def test_a_fall_far_below_the_history_is_an_outlier_too():
    rule, message = judged(5, STEADY)

    assert rule == OUTLIER
    assert "down from 40 in 2025-Q4 (a fall of 88%)" in message


def test_small_counts_are_never_flagged():
    assert judged(9, [0, 1, 0, 2, 1, 0, 1, 0]) is None


def test_large_change_on_a_short_history_is_a_change_warning():
    rule, message = judged(100, [30])

    assert rule == CHANGE
    assert (
        message == "up from 30 in 2025-Q4 (3.3 times as much). Georgia's figures for 2025-Q4: 30."
    )


def test_change_from_zero():
    rule, message = judged(45, [0, 0])

    assert rule == CHANGE
    assert message.startswith("up from 0 in 2025-Q4.")


def test_constant_history_flags_only_a_change_worth_noting():
    assert judged(31, [30] * 8) is None
    rule, message = judged(55, [30] * 8)
    assert rule == OUTLIER
    assert "between 30 and 30, median 30" in message


def test_minimum_change_is_per_unit():
    euros = [250_000, 260_000, 240_000, 255_000, 245_000]
    assert judged(320_000, euros, min_change=100_000) is None  # 70 000 EUR more: not news
    assert judged(900_000, euros, min_change=100_000)[0] == OUTLIER


def test_thresholds_come_from_the_codelists_folder():
    settings = outlier_settings()

    assert settings.periods >= settings.min_history >= 2
    assert settings.z_threshold > 0 and settings.ratio_threshold > 1
    assert settings.min_change_for("COUNT") > 0
    assert settings.min_change_for("KG") == settings.min_change["default"]


# --- against the warehouse ----------------------------------------------------------------


def as_return(sample: SampleReturn) -> ReturnFile:
    frame = pd.DataFrame(sample.indicators, columns=list(INDICATOR_COLUMNS)).astype(
        INDICATOR_COLUMNS
    )
    frame.insert(0, ROW, range(2, len(frame) + 2))
    return ReturnFile(
        path=Path(f"{sample.country}_{sample.period}.xlsx"),
        file_format="xlsx",
        metadata=dict(sample.metadata),
        indicators=frame,
    )


def base_sample(country: str, period: Period) -> SampleReturn:
    """The same figures every period (seed and content fixed), only the period changes."""
    sample = sample_content(country, "2026-Q1", seed=11, seizure_rows=0)
    sample.period = sample.metadata["period"] = period.code
    return sample


def with_value(sample: SampleReturn, value: float, comment: str | None = None) -> SampleReturn:
    for row in sample.indicators:
        if (row["crime_area"], row["indicator"], row["breakdown"]) == KEY:
            row.update(value=value, obs_status="A", comment=comment)
    return sample


def load(engine: Engine, sample: SampleReturn) -> None:
    ret = as_return(sample)
    digest = hashlib.sha256(repr(sample.indicators).encode() + sample.period.encode()).hexdigest()
    received = ReceivedFile(
        file_name=f"{sample.country}_{sample.period}.xlsx",
        stored_name=f"{digest[:12]}.xlsx",
        sha256=digest,
        size_bytes=1,
        received_at=datetime(2026, 4, 20, tzinfo=UTC),
    )
    outcome = record_submission(
        engine, ret, reporting_unit=sample.country, received=received, findings=[]
    )
    assert outcome.loaded


def steady_history(engine: Engine, country: str = "GE") -> None:
    for period, value in zip(EARLIER, STEADY, strict=True):
        load(engine, with_value(base_sample(country, period), value))


def findings_for(engine: Engine, sample: SampleReturn, unit: str = "GE") -> list[Any]:
    return history_findings(as_return(sample), reporting_unit=unit, engine=engine)


def row_of(sample: SampleReturn) -> int:
    keys = [(r["crime_area"], r["indicator"], r["breakdown"]) for r in sample.indicators]
    return keys.index(KEY) + 2


def test_planted_spike_is_the_only_warning(warehouse: Engine):
    steady_history(warehouse)
    sample = with_value(base_sample("GE", PERIOD), 140)

    findings = findings_for(warehouse, sample)

    assert [(f.sheet, f.row, f.column, f.rule, f.severity) for f in findings] == [
        ("indicators", row_of(sample), "value", OUTLIER, "warning")
    ]
    assert findings[0].value == 140
    assert findings[0].message.startswith("OCG_IDENTIFIED for THB is 140, far outside Georgia's")
    assert "between 38 and 44" in findings[0].message
    assert "say why in the comment" in findings[0].message
    results = history_results(findings)
    assert [(r.expectation_type, r.success, r.unexpected_count) for r in results] == [
        (OUTLIER, False, 1),
        (CHANGE, True, 0),
    ]


def test_the_warning_quotes_the_comment_that_explains_the_figure(warehouse: Engine):
    steady_history(warehouse)
    explained = "Operation Silver Birch dismantled a network of 100 groups."
    sample = with_value(base_sample("GE", PERIOD), 140, comment=explained)

    (finding,) = findings_for(warehouse, sample)

    assert finding.message.endswith(f'The comment says: "{explained}"')


def test_steady_series_gives_no_warning_from_the_warehouse(warehouse: Engine):
    steady_history(warehouse)

    assert findings_for(warehouse, with_value(base_sample("GE", PERIOD), 45)) == []


def test_only_the_current_revision_and_the_own_unit_count(warehouse: Engine):
    steady_history(warehouse)
    # A spike that was corrected: revision 2 of 2025-Q4 replaces revision 1.
    load(warehouse, with_value(base_sample("GE", EARLIER[-1]), 400))
    load(warehouse, with_value(base_sample("GE", EARLIER[-1]), 41))
    # Another unit's much larger figures are not Georgia's history.
    for period in EARLIER:
        load(warehouse, with_value(base_sample("MD", period), 500))

    assert findings_for(warehouse, with_value(base_sample("GE", PERIOD), 42)) == []


def test_no_history_no_warning(warehouse: Engine):
    assert findings_for(warehouse, with_value(base_sample("GE", PERIOD), 140)) == []
