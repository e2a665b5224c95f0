"""Admission: what refuses a file before a single byte of it is fetched or read.

An unsafe or overlong name, or a size over the limit, is decided from what the
landing store lists (``InboxFile``) alone. The pipeline (``topcop.ingest``) and
the focal points' offline validator (``topcop.validation.offline``) both ask
here first, so a file refused on arrival is refused, in the same words, before
it is sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from topcop import config
from topcop.findings import Finding, file_error
from topcop.i18n import Number, msg
from topcop.landing.base import InboxFile
from topcop.returns.model import ReturnFile

if TYPE_CHECKING:
    from topcop.validation.check import CheckedReturn

MAX_NAME_LENGTH = 200


def admission_findings(item: InboxFile) -> list[Finding]:
    """Checks made before a single byte is fetched: a safe name and a size within the limit."""
    findings = name_findings(item.name)
    limit = config.limits().max_file_bytes
    if item.size > limit:
        findings.append(
            file_error(
                "file_too_large",
                msg(
                    "The file has {size} bytes; the limit is {limit}. Send the seizures as one "
                    "CSV file (much smaller than a workbook) or contact the programme's data "
                    "steward.",
                    size=Number(item.size),
                    limit=Number(limit),
                ),
                item.size,
            )
        )
    return findings


def name_findings(name: str) -> list[Finding]:
    """A file name that could not be stored safely is refused before anything is read."""
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        unsafe = msg("The file name contains control characters.")
        return [file_error("file_name_unsafe", unsafe, name)]
    if "/" in name or "\\" in name or ".." in name:
        unsafe = msg("The file name contains a path ('/', '\\' or '..').")
        return [file_error("file_name_unsafe", unsafe, name)]
    if len(name) > MAX_NAME_LENGTH:
        return [
            file_error(
                "file_name_too_long",
                msg(
                    "The file name has {length} characters; at most {max_length} are allowed.",
                    length=len(name),
                    max_length=MAX_NAME_LENGTH,
                ),
                name[:50] + "…",
            )
        ]
    return []


def refused_unread(item: InboxFile, local: Path) -> CheckedReturn | None:
    """The check's outcome for a file refused before it is fetched; None when it may be read."""
    from topcop.validation.check import CheckedReturn

    refused = admission_findings(item)
    if not refused:
        return None
    return CheckedReturn(ret=ReturnFile(path=local, file_format="unread"), findings=refused)
