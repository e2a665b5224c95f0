"""One of our cross-row rules, written in VTL and run by vtlengine on an exported SDMX-CSV file.

The return contract says a total equals the sum of its breakdowns where both are
given (``topcop.validation`` checks it on the way in). Here the same rule is
VTL, the validation language SDMX partners share, run on what a partner would
download: the programme edition's SDMX-CSV read by pandas. The data structure is
declared here, not taken from our DSD, so the check does not lean on our writer.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import vtlengine
from export_demo import NOW

from topcop.exports.build import export_period

IDENTIFIERS = ["REPORTING_UNIT", "CRIME_AREA", "INDICATOR", "BREAKDOWN"]
STRUCTURE = {
    "datasets": [
        {
            "name": "DS",
            "DataStructure": [
                *(
                    {"name": name, "role": "Identifier", "type": "String", "nullable": False}
                    for name in IDENTIFIERS
                ),
                {"name": "OBS_VALUE", "role": "Measure", "type": "Number", "nullable": True},
            ],
        }
    ]
}
# Totals and the sum of their breakdowns, per unit, crime area and indicator; the
# check keeps the groups where they differ (only where both exist, as the contract says).
TOTAL_EQUALS_SUM_OF_BREAKDOWNS = """
totals := sum(DS[filter BREAKDOWN = "_T"] group by REPORTING_UNIT, CRIME_AREA, INDICATOR);
parts := sum(DS[filter BREAKDOWN <> "_T"] group by REPORTING_UNIT, CRIME_AREA, INDICATOR);
broken <- check(totals = parts errorcode "TOTAL_NE_SUM" invalid);
"""


def violations(frame: pd.DataFrame) -> set[tuple[str, str, str]]:
    """(unit, crime area, indicator) of every total that is not the sum of its breakdowns."""
    group = ["REPORTING_UNIT", "CRIME_AREA", "INDICATOR"]
    with_parts = set(frame[frame["BREAKDOWN"] != "_T"][group].itertuples(index=False, name=None))
    keep = [key in with_parts for key in frame[group].itertuples(index=False, name=None)]
    data = frame[keep][[*IDENTIFIERS, "OBS_VALUE"]]
    result = vtlengine.run(
        script=TOTAL_EQUALS_SUM_OF_BREAKDOWNS,
        data_structures=STRUCTURE,
        datapoints={"DS": data.reset_index(drop=True)},
    )
    broken = result["broken"].data
    assert set(broken["errorcode"]) <= {"TOTAL_NE_SUM"}
    return {
        tuple(r)
        for r in broken[["REPORTING_UNIT", "CRIME_AREA", "INDICATOR"]].itertuples(index=False)
    }


@pytest.fixture(scope="module")
def exported(demo, tmp_path_factory) -> pd.DataFrame:
    export = export_period(
        "2026-Q1", "programme", engine=demo.engine,
        destination=tmp_path_factory.mktemp("vtl"), now=NOW,
    )  # fmt: skip
    (csv_file,) = [Path(f) for f in export.files if "INDICATORS" in f and f.endswith(".csv")]
    frame = pd.read_csv(csv_file, dtype={name: str for name in IDENTIFIERS}, keep_default_na=False)
    frame["OBS_VALUE"] = pd.to_numeric(frame["OBS_VALUE"].replace("", None))
    return frame


def test_exported_totals_equal_their_breakdowns_in_vtl(exported):
    assert (exported["BREAKDOWN"] != "_T").any(), "the demo must give some breakdowns"
    assert violations(exported) == set()


def test_vtl_rule_finds_a_breakdown_that_does_not_add_up(exported):
    tampered = exported.copy()
    row = tampered.index[tampered["BREAKDOWN"] == "NATIONAL"][0]
    tampered.loc[row, "OBS_VALUE"] += 1
    expected = tuple(tampered.loc[row, ["REPORTING_UNIT", "CRIME_AREA", "INDICATOR"]])
    assert violations(tampered) == {expected}
