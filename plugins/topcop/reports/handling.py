"""Who a report is for, and so which values it may show: the one place that decides suppression.

The programme edition shows every current figure. The public edition shows a
value only when its ``conf_status`` and its return's handling code are both
publishable (the ``publishable`` columns of ``codelists/conf_status.csv`` and
``codelists/handling_codes.csv``). A return without a handling code counts as
not publishable: suppression must never depend on a field having been filled in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from topcop import config

# The SDMX / Eurostat flag for a confidential value, shown where a value is withheld.
SUPPRESSED = "c"


class Audience(StrEnum):
    PROGRAMME = "programme"
    PUBLIC = "public"


def parse_audience(value: str | Audience) -> Audience:
    """``programme`` or ``public``; anything else is a caller's mistake."""
    try:
        return Audience(str(value).strip().lower())
    except ValueError:
        choices = ", ".join(a.value for a in Audience)
        raise ValueError(f"{value!r} is not a report audience (one of: {choices})") from None


@dataclass(frozen=True)
class Disclosure:
    """The rules of one edition, asked once per value or return."""

    audience: Audience

    @property
    def public(self) -> bool:
        return self.audience is Audience.PUBLIC

    def return_publishable(self, handling_code: str | None) -> bool:
        if not self.public:
            return True
        return handling_code in config.codelists().handling_publishable

    def value_publishable(self, conf_status: str | None, handling_code: str | None) -> bool:
        if not self.public:
            return True
        lists = config.codelists()
        return (
            conf_status in lists.conf_status_publishable
            and handling_code in lists.handling_publishable
        )

    def edition_note(self) -> str:
        if self.public:
            return (
                "Public edition: values not for publication and returns with restricted "
                f"handling are suppressed (shown as {SUPPRESSED})."
            )
        return (
            f"Programme edition: includes values not for publication (conf_status "
            f"{_withheld_conf_status()}) and returns with handling {_withheld_handling()}. "
            "Do not share beyond the programme."
        )

    def suppression_reasons(self) -> str:
        """Why values are withheld, in the words of the codelists' codes."""
        return (
            f"values with conf_status {_withheld_conf_status()}, values of returns with handling "
            f"code {_withheld_handling()} or none, and figures of the same indicator from which "
            "they could be worked out (the total and the other breakdowns)"
        )


def _withheld_conf_status() -> str:
    lists = config.codelists()
    return ", ".join(sorted(set(lists.conf_status) - lists.conf_status_publishable))


def _withheld_handling() -> str:
    lists = config.codelists()
    return ", ".join(sorted(set(lists.handling_codes) - lists.handling_publishable))
