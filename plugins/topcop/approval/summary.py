"""What the steward is shown: the request's changes against the current revision."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from markupsafe import escape
from sqlalchemy import Connection, text

from topcop.approval.requests import MAX_CHANGES_SHOWN, _current_revision, _float, _number
from topcop.findings import Finding

if TYPE_CHECKING:
    from topcop.returns.model import ReturnFile


# --- what the steward is shown --------------------------------------------------------


def request_summary(
    conn: Connection,
    ret: ReturnFile,
    unit: str,
    period: str,
    dataset: str,
    file_name: str,
    findings: list[Finding],
) -> str:
    """Markdown for the approval form: the file, what changes against the current revision, findings.

    Every value from the return is HTML-escaped: the Airflow UI renders this text.
    """
    current = _current_revision(conn, unit, period)
    lines = [
        f"**Reporting unit:** {escape(unit)}  ",
        f"**Period:** {escape(period)}  ",
        f"**File:** {escape(file_name)} ({escape(dataset)})  ",
        f"**Current revision:** {current if current is not None else 'none yet'}",
        "",
        "### What changes against the current revision",
    ]
    for table_name, changes in table_changes(conn, ret, unit, period).items():
        added = sum(c["before"] is None for c in changes)
        removed = sum(c["after"] is None for c in changes)
        changed = len(changes) - added - removed
        lines.append(
            f"- **{table_name}**: {added} rows added, {removed} removed, {changed} values changed"
        )
        for c in changes[:MAX_CHANGES_SHOWN]:
            lines.append(
                f"    - {escape(c['key'])}: {_number(c['before'])} → {_number(c['after'])}"
            )
        if len(changes) > MAX_CHANGES_SHOWN:
            lines.append(f"    - … and {len(changes) - MAX_CHANGES_SHOWN} more")
    lines += ["", "### Validation findings"]
    lines += [
        f"- {escape(f.severity)} · {escape(f.where())} · {escape(f.rule)}: {escape(f.message)}"
        for f in findings
    ] or ["- none"]
    return "\n".join(lines)


def table_changes(
    conn: Connection, ret: ReturnFile, unit: str, period: str
) -> dict[str, list[dict[str, Any]]]:
    """Rows added, removed and values changed per table, the largest change first.

    Indicators are keyed by crime area, indicator and breakdown; seizures by
    their reference. ``before`` is None for an added row, ``after`` for a removed one.
    """
    keyed = {
        "indicators": (
            "SELECT crime_area, indicator, breakdown, value FROM v_indicator_current"
            " WHERE reporting_unit = :unit AND period = :period",
            lambda r: " / ".join(str(v) for v in r[:3] if isinstance(v, str) and v),
        ),
        "seizures": (
            "SELECT seizure_ref, quantity FROM v_seizure_current"
            " WHERE reporting_unit = :unit AND period = :period",
            lambda r: str(r[0]),  # seizure_ref is required
        ),
    }
    result = {}
    for table_name, (sql, key) in keyed.items():
        frame = ret.table(table_name)
        if frame is None:
            continue
        before = {
            key(r): _float(r[-1]) for r in conn.execute(text(sql), {"unit": unit, "period": period})
        }
        columns = (
            ["crime_area", "indicator", "breakdown", "value"]
            if table_name == "indicators"
            else ["seizure_ref", "quantity"]
        )
        after = {
            key(r): _float(r[-1])
            for r in frame[columns].astype(object).itertuples(index=False, name=None)
        }
        changes = [
            {"key": k, "before": before.get(k), "after": after.get(k)}
            for k in sorted(before.keys() | after.keys())
            if k not in before or k not in after or before[k] != after[k]
        ]
        changes.sort(key=lambda c: -abs((c["after"] or 0.0) - (c["before"] or 0.0)))
        result[table_name] = changes
    return result
