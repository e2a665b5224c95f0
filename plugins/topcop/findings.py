"""Findings: what is wrong (or worth a second look) in a return, said so a focal point can act.

Errors are values for users: every problem with a file becomes a ``Finding``
pointing at the sheet, row and column, quoting the value and naming the rule.
Severity ``error`` rejects the return; ``warning`` accepts it with the finding
recorded in the receipt.

``ExpectationResult`` is the other half of a check's outcome: how each
expectation or rule fared, found or not. The validation produces both and the
warehouse stores both, so both live here, below either.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"


@dataclass(frozen=True)
class Finding:
    sheet: str  # "file" for problems with the file itself, else metadata/indicators/seizures
    row: int | None  # row number as the spreadsheet shows it (CSV: line number)
    column: str | None
    value: Any
    rule: str  # the expectation type or rule id, e.g. expect_column_values_to_be_in_set
    severity: Severity
    message: str

    @property
    def message_id(self) -> str:
        """The stable English template the message was made from (its gettext id)."""
        return getattr(self.message, "template", self.message)

    @property
    def params(self) -> dict[str, Any]:
        return dict(getattr(self.message, "params", {}))

    def message_in(self, lang: str) -> str:
        """The message in ``lang``; English when it was not made from a catalogued template.

        A message made with ``topcop.i18n.msg`` knows how to say itself again; the
        findings module stays below the languages module (no import).
        """
        say_again = getattr(self.message, "in_language", None)
        return say_again(lang) if say_again is not None else str(self.message)

    def as_dict(self, lang: str = "en") -> dict[str, Any]:
        """The finding for JSON: the message in ``lang``, and the stable id and English."""
        d = asdict(self)
        d["value"] = _jsonable(self.value)
        d["message"] = self.message_in(lang)
        d["message_id"] = self.message_id
        d["message_en"] = str(self.message)
        d["params"] = {k: _jsonable(v) for k, v in self.params.items()}
        return d

    def where(self) -> str:
        parts = [self.sheet]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        return ", ".join(parts)


@dataclass(frozen=True)
class ExpectationResult:
    """How one expectation fared on one table: the warehouse keeps these per submission."""

    suite: str
    expectation_type: str
    column: str | None  # several columns joined by "," (pairs, compound keys)
    success: bool
    unexpected_count: int | None  # None: not evaluated (its column is missing)
    severity: Severity

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, float):
        return None if value != value else value  # NaN has no JSON form
    return str(value)


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == ERROR for f in findings)


def file_error(rule: str, message: str, value: Any = None) -> Finding:
    """A problem with the file as a whole (unreadable, wrong type, wrong sender...)."""
    return Finding("file", None, None, value, rule, ERROR, message)
