"""The design as pysdmx artefacts: codelists, concept scheme, DSDs and dataflows of one version.

Every artefact of a set carries the same version, so a partner reading a data file
that names ``TOPCOP:INDICATORS(1.2)`` knows which codelists and concept scheme go
with it. Concepts are referenced by URN (what pysdmx needs to write a DSD in both
SDMX-ML 2.1 and 3.0).
"""

from __future__ import annotations

from dataclasses import dataclass

from pysdmx.model import (
    Code,
    Codelist,
    Component,
    Components,
    Concept,
    ConceptScheme,
    Dataflow,
    DataStructureDefinition,
    DataType,
    Role,
    Schema,
)

from topcop.exports.design import AGENCY, Design, FlowSpec

CONCEPT_SCHEME = "CS_TOPCOP"
_ROLES = {"dimension": Role.DIMENSION, "measure": Role.MEASURE, "attribute": Role.ATTRIBUTE}


@dataclass(frozen=True)
class StructureSet:
    """Every artefact of one structure version, ready to write or to attach to data."""

    version: str
    codelists: tuple[Codelist, ...]
    concepts: ConceptScheme
    structures: dict[str, DataStructureDefinition]  # by dataflow id
    dataflows: dict[str, Dataflow]

    def artefacts(self) -> list:
        """In the order a structure message lists them."""
        return [
            *self.codelists,
            self.concepts,
            *self.structures.values(),
            *self.dataflows.values(),
        ]

    def schema(self, flow_id: str) -> Schema:
        """What a data message of ``flow_id`` refers to: the dataflow, with its components."""
        return Schema(
            context="dataflow",
            agency=AGENCY,
            id=flow_id,
            version=self.version,
            components=self.structures[flow_id].components,
        )


def structure_set(design: Design, version: str) -> StructureSet:
    codelists = {
        spec.id: Codelist(
            id=spec.id,
            name=spec.name,
            agency=AGENCY,
            version=version,
            items=[Code(id=code, name=name) for code, name in spec.codes],
        )
        for spec in design.codelists
    }
    concepts = {
        spec.id: Concept(
            id=spec.id,
            urn=f"urn:sdmx:org.sdmx.infomodel.conceptscheme.Concept={AGENCY}:"
            f"{CONCEPT_SCHEME}({version}).{spec.id}",
            name=spec.name,
            dtype=DataType(spec.text_type) if spec.text_type else None,
            codes=codelists[spec.codelist] if spec.codelist else None,
        )
        for spec in design.concepts
    }
    scheme = ConceptScheme(
        id=CONCEPT_SCHEME,
        name="topcop concepts",
        agency=AGENCY,
        version=version,
        items=list(concepts.values()),
    )
    structures = {
        flow.id: _structure(flow, concepts, version) for flow in design.flows
    }  # fmt: skip
    dataflows = {
        flow.id: Dataflow(
            id=flow.id,
            name=flow.name,
            description=flow.description,
            agency=AGENCY,
            version=version,
            structure=structures[flow.id],
        )
        for flow in design.flows
    }
    return StructureSet(version, tuple(codelists.values()), scheme, structures, dataflows)


def _structure(
    flow: FlowSpec, concepts: dict[str, Concept], version: str
) -> DataStructureDefinition:
    components = []
    for spec in flow.components:
        concept = concepts[spec.concept]
        components.append(
            Component(
                id=spec.concept,
                required=spec.required,
                role=_ROLES[spec.role],
                concept=concept,
                local_dtype=concept.dtype,
                local_codes=concept.codes,
                attachment_level="O" if spec.role == "attribute" else None,
            )
        )
    return DataStructureDefinition(
        id=flow.dsd_id,
        name=flow.name,
        agency=AGENCY,
        version=version,
        components=Components(components),
    )
