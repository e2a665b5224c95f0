"""Which edition a sheet belongs to, and what each sheet says about it.

Every sheet opens with the edition (programme or public) and, in the public
edition, on a sheet that lost values, how many were suppressed and why, and
which returns carry a restricted handling code. Suppression itself is decided
in ``handling``; this module only says it, the same way on every sheet.
"""

from __future__ import annotations

from dataclasses import dataclass

from topcop.reports.figures import Figure
from topcop.reports.handling import SUPPRESSED, Disclosure


@dataclass(frozen=True)
class Edition:
    """The edition a workbook is built for, and the title every sheet's header repeats."""

    disclosure: Disclosure
    running_title: str

    def notes(self, suppressed: int = 0, returns: set[tuple[str, str]] | None = None) -> list[str]:
        """The edition, and on a sheet that lost values to it, what and why."""
        notes = [self.disclosure.edition_note()]
        if self.disclosure.public and (suppressed or returns):
            text = (
                f"Suppressed on this sheet: {suppressed} value{'s' if suppressed != 1 else ''} "
                f"(shown as {SUPPRESSED}): {self.disclosure.suppression_reasons()}."
            )
            if returns:
                listed = ", ".join(f"{u} {p}" for u, p in sorted(returns, key=lambda x: x[::-1]))
                text += f" Returns with restricted handling: {listed}."
            notes.append(text)
        return notes


def restricted_returns(edition: Edition, figures: list[Figure]) -> set[tuple[str, str]]:
    """(reporting unit, period) of each return whose handling code keeps it from publication."""
    return {
        (f.reporting_unit, f.period)
        for f in figures
        if not edition.disclosure.return_publishable(f.handling_code)
    }
