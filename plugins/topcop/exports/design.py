"""What our SDMX structures say, as plain data generated from the codelists we keep.

One source of truth: every code and name comes from ``config.codelists()``, so a
steward who adds an indicator or a reporting unit changes the structures by data
alone. The design is plain tuples (no SDMX library types), which makes its
content hash (``digest``) depend on what the structures say, not on how a library
version happens to serialise them: that hash decides when a new structure version
is issued (``topcop.exports.versions``).

Two dataflows share the codelists and the concept scheme:

* ``INDICATORS``: one observation per reporting unit, period, crime area,
  indicator and breakdown (``_T`` for the total, the SDMX code for "total"), with
  the unit of measure, OBS_STATUS and CONF_STATUS as observation attributes.
* ``SEIZURES``: seizures aggregated per reporting unit, period, commodity and unit
  of measure; the ``STATISTIC`` dimension tells the quantity seized from the number
  of seizures. SDMX-ML 2.1 allows one measure only, hence a dimension, not two
  measures.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from topcop import config

AGENCY = "TOPCOP"
TOTAL = "_T"  # SDMX's code for "total": a figure without a breakdown
QUANTITY, SEIZURE_COUNT = "QUANTITY", "SEIZURES"
INDICATORS_FLOW, SEIZURES_FLOW = "INDICATORS", "SEIZURES"

# SDMX frequencies of the period codes we accept (topcop.periods).
FREQUENCIES = (("A", "Annual"), ("S", "Half-yearly"), ("Q", "Quarterly"), ("M", "Monthly"))


@dataclass(frozen=True)
class CodelistSpec:
    id: str
    name: str
    codes: tuple[tuple[str, str], ...]  # (code, name)


@dataclass(frozen=True)
class ConceptSpec:
    id: str
    name: str
    codelist: str | None  # the codelist that enumerates it, if any
    text_type: str | None  # an SDMX text type when it is not enumerated


@dataclass(frozen=True)
class ComponentSpec:
    concept: str
    role: str  # dimension, measure or attribute
    required: bool


@dataclass(frozen=True)
class FlowSpec:
    """A dataflow and its data structure definition (``DSD_<id>``)."""

    id: str
    name: str
    description: str
    components: tuple[ComponentSpec, ...]

    @property
    def dsd_id(self) -> str:
        return f"DSD_{self.id}"

    def ids(self, role: str) -> list[str]:
        return [c.concept for c in self.components if c.role == role]


@dataclass(frozen=True)
class Design:
    codelists: tuple[CodelistSpec, ...]
    concepts: tuple[ConceptSpec, ...]
    flows: tuple[FlowSpec, ...]

    def flow(self, flow_id: str) -> FlowSpec:
        return next(f for f in self.flows if f.id == flow_id)

    def codelist(self, codelist_id: str) -> CodelistSpec:
        return next(c for c in self.codelists if c.id == codelist_id)

    def codes(self, concept_id: str) -> set[str]:
        """The codes a component of ``concept_id`` may take (empty: not enumerated)."""
        concept = next(c for c in self.concepts if c.id == concept_id)
        if concept.codelist is None:
            return set()
        return {code for code, _ in self.codelist(concept.codelist).codes}

    def digest(self) -> str:
        """SHA-256 of the design's content: changes exactly when the structures do."""
        text = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def current_design() -> Design:
    """The structures as the codelists stand now."""
    lists = config.codelists()
    codelists = (
        CodelistSpec("CL_FREQ", "Frequency", FREQUENCIES),
        _listed("CL_REPORTING_UNIT", "Reporting units", {
            code: unit.name for code, unit in lists.reporting_units.items()
        }),
        _listed("CL_CRIME_AREA", "Crime areas (EU Policy Cycle / EMPACT)", lists.crime_areas),
        _listed("CL_INDICATOR", "Indicators", {
            code: indicator.name for code, indicator in lists.indicators.items()
        }),
        CodelistSpec(
            "CL_BREAKDOWN", "Breakdowns",
            ((TOTAL, "Total"), *sorted(lists.breakdowns.items())),
        ),
        _listed("CL_UNIT", "Units of measure", lists.units),
        _listed("CL_COMMODITY", "Seized commodities", {
            code: commodity.name for code, commodity in lists.commodities.items()
        }),
        CodelistSpec(
            "CL_SEIZURE_STATISTIC", "Seizure statistics",
            ((QUANTITY, "Quantity seized"), (SEIZURE_COUNT, "Number of seizures")),
        ),
        _listed("CL_OBS_STATUS", "Observation status", lists.obs_status),
        _listed("CL_CONF_STATUS", "Confidentiality status", lists.conf_status),
    )  # fmt: skip
    concepts = (
        ConceptSpec("FREQ", "Frequency", "CL_FREQ", None),
        ConceptSpec("REPORTING_UNIT", "Reporting unit", "CL_REPORTING_UNIT", None),
        ConceptSpec("CRIME_AREA", "Crime area", "CL_CRIME_AREA", None),
        ConceptSpec("INDICATOR", "Indicator", "CL_INDICATOR", None),
        ConceptSpec("BREAKDOWN", "Breakdown", "CL_BREAKDOWN", None),
        ConceptSpec("COMMODITY", "Commodity", "CL_COMMODITY", None),
        ConceptSpec("STATISTIC", "Seizure statistic", "CL_SEIZURE_STATISTIC", None),
        ConceptSpec("TIME_PERIOD", "Reporting period", None, "ObservationalTimePeriod"),
        ConceptSpec("OBS_VALUE", "Observation value", None, "Double"),
        ConceptSpec("UNIT_MEASURE", "Unit of measure", "CL_UNIT", None),
        ConceptSpec("OBS_STATUS", "Observation status", "CL_OBS_STATUS", None),
        ConceptSpec("CONF_STATUS", "Confidentiality status", "CL_CONF_STATUS", None),
    )
    d, m, a = "dimension", "measure", "attribute"
    indicators = FlowSpec(
        INDICATORS_FLOW,
        "Organised crime and law-enforcement cooperation indicators",
        "Current figures of the accepted returns, one per reporting unit, period, crime area, "
        "indicator and breakdown.",
        (
            ComponentSpec("FREQ", d, True),
            ComponentSpec("REPORTING_UNIT", d, True),
            ComponentSpec("CRIME_AREA", d, True),
            ComponentSpec("INDICATOR", d, True),
            ComponentSpec("BREAKDOWN", d, True),
            ComponentSpec("TIME_PERIOD", d, True),
            ComponentSpec("OBS_VALUE", m, False),  # empty when OBS_STATUS says why
            ComponentSpec("UNIT_MEASURE", a, True),
            ComponentSpec("OBS_STATUS", a, True),
            ComponentSpec("CONF_STATUS", a, True),
        ),
    )
    seizures = FlowSpec(
        SEIZURES_FLOW,
        "Seizures by commodity",
        "Quantity seized and number of seizures per reporting unit, period, commodity and "
        "unit of measure, from the current returns' seizure events.",
        (
            ComponentSpec("FREQ", d, True),
            ComponentSpec("REPORTING_UNIT", d, True),
            ComponentSpec("COMMODITY", d, True),
            ComponentSpec("UNIT_MEASURE", d, True),
            ComponentSpec("STATISTIC", d, True),
            ComponentSpec("TIME_PERIOD", d, True),
            ComponentSpec("OBS_VALUE", m, True),
            ComponentSpec("OBS_STATUS", a, True),
            ComponentSpec("CONF_STATUS", a, True),
        ),
    )
    return Design(codelists, concepts, (indicators, seizures))


def _listed(codelist_id: str, name: str, names: dict[str, str]) -> CodelistSpec:
    """A codelist in the order the steward's file lists its codes."""
    return CodelistSpec(codelist_id, name, tuple(names.items()))
