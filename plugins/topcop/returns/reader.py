"""Reading a return file into typed tables, with every problem in it turned into a finding.

The reader is where untrusted files meet the pipeline: whatever a focal point sends
(a damaged workbook, text in a number column, a renamed header) ends as a
``Finding`` that says sheet, row, column and value, never as a traceback. It only
reads and types; what the values must satisfy is the validation's business.

The file is first inspected without being opened by a spreadsheet library
(``inspect``); then a workbook is read by ``workbook``, a CSV file by
``csv_return``; both hand their rows to ``table``, which types them by the rules
of ``values``.
"""

from __future__ import annotations

from pathlib import Path

from topcop.findings import has_errors
from topcop.returns.csv_return import read_csv_return
from topcop.returns.inspect import inspect_file
from topcop.returns.model import ReturnFile
from topcop.returns.workbook import read_workbook


def read_return(path: Path) -> ReturnFile:
    """Read one received file (template workbook or CSV) into a ``ReturnFile``."""
    path = Path(path)
    file_format = "csv" if path.suffix.lower() == ".csv" else "xlsx"
    result = ReturnFile(path=path, file_format=file_format)
    merged: set[str] = set()
    result.findings.extend(inspect_file(path, merged=merged))
    if has_errors(result.findings):
        return result
    if file_format == "csv":
        read_csv_return(path, result)
    else:
        read_workbook(path, result, merged)
    return result
