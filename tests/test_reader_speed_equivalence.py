"""The reader's shortcuts give exactly what the plainer ways they replace give.

Typing a column of one kind of value (only text, only numbers, only dates) in one
step, and checking sheet data with one search for an odd cell tag, are taken for
speed; these tests hold them to the general typing and to a match for every cell.
"""

from __future__ import annotations

import random
import re
from datetime import date, datetime, time, timedelta

import pandas as pd
import pytest
from openpyxl.utils import get_column_letter

from topcop.returns import sheet_parts, table, values
from topcop.returns.model import COLUMNS

ODD_VALUES = [
    "", " ", " x ", "\u00a0", "12", " 12.5 ", "1 234", "1,234", "1e999", "2026-08-15",
    "15.08.2026", "31.02.2026", None, 0.0, 1.5, float("inf"), float("nan"), 3, True,
    date(2026, 8, 15), date(1, 1, 1), date(1677, 9, 21), date(1677, 9, 22),
    date(2262, 4, 11), date(2262, 4, 12), datetime(2026, 8, 15, 10, 30), time(10, 30),
    timedelta(days=1),
]  # fmt: skip


def _value(rng: random.Random, dtype: str, odd_share: float) -> object:
    if rng.random() < odd_share:
        return rng.choice(ODD_VALUES)
    if dtype == "Float64":
        return rng.choice([rng.random() * 1000, 7.0, ""])
    if dtype.startswith("datetime"):
        return rng.choice([date(2026, rng.randint(1, 12), rng.randint(1, 28)), ""])
    return rng.choice(["RU", " KG", "x ", "", "Body concealment"])


def _cells(seed: int) -> tuple[str, list[list[object]]]:
    """A sheet as calamine or the csv module gives it: header, then rows, some blank."""
    rng = random.Random(seed)
    sheet = rng.choice(list(COLUMNS))
    header = list(COLUMNS[sheet])
    rng.shuffle(header)
    if rng.random() < 0.2:
        header = header[: rng.randint(1, len(header))]
    # Most sheets hold one kind of value per column, as real ones do: the shortcuts' case.
    odd_share = rng.choice([0.0, 0.0, 0.02, 0.3])
    rows = []
    for _ in range(rng.choice([0, 1, 5, 60])):
        if rng.random() < 0.1:
            rows.append([rng.choice(["", None])] * len(header))
        else:
            rows.append([_value(rng, COLUMNS[sheet][name], odd_share) for name in header])
    return sheet, [header, *rows]


def _general_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table, "_plain_texts", lambda rows, positions: {})
    monkeypatch.setattr(values, "_days", lambda values, kinds: None)
    monkeypatch.setattr(values, "_NUMBER_KINDS", frozenset())
    monkeypatch.setattr(values, "_TEXT_KINDS", frozenset())


@pytest.mark.parametrize("seed", range(120))
def test_typing_shortcuts_type_as_the_general_way(seed, monkeypatch):
    _assert_same_typing(*_cells(seed), monkeypatch)


def _assert_same_typing(
    sheet: str, cells: list[list[object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    numbers = list(range(1, len(cells) + 1))
    quick: list = []
    typed = table.type_table(sheet, cells, numbers, quick)
    with monkeypatch.context() as m:
        _general_only(m)
        general: list = []
        expected = table.type_table(sheet, cells, numbers, general)
    assert repr(quick) == repr(general)
    pd.testing.assert_frame_equal(typed, expected, check_exact=True)


@pytest.mark.parametrize(
    "day",
    [date(1, 1, 1), date(1677, 9, 21), date(1677, 9, 22), date(2262, 4, 11), date(2262, 4, 12)],
)
def test_a_date_column_types_as_the_general_way_at_the_ends_of_the_range(day, monkeypatch):
    """Dates a datetime64[ns] column cannot store stay findings, as the general way has them."""
    cells = [["seizure_ref", "seizure_date"], ["a", date(2026, 8, 15)], ["b", day], ["c", ""]]
    _assert_same_typing("seizures", cells, monkeypatch)


def _reference_plain_cell(rows: int, columns: int) -> re.Pattern[bytes]:
    """The plain cell tag as one match, without the search's possessive quantifiers."""
    letters = sheet_parts._up_to(get_column_letter(columns), "A", "Z")
    digits = sheet_parts._up_to(str(rows), "0", "9")
    return re.compile(rf'<c r="{letters}{digits}"(?: (?:s|t|cm|vm|ph)="[^"<>]*")*\s*/?>'.encode())


TAG_PARTS = [
    ' r="A1"', ' r="AF300001"', ' r="AG1"', ' r="A300002"', ' r="A0"', " r='B2'", ' r = "A1"',
    '  r="A1"', '\tr="A1"', ' s="5"', ' t="inlineStr"', ' cm="1"', ' vm="1"', ' ph="1"',
    ' x="1"', ' S="1"', ' s1="1"', ' t="a>b"', ' t="a<b"', ' s="', " ", "\n", "/",
]  # fmt: skip


@pytest.mark.parametrize("seed", range(60))
def test_one_search_finds_an_odd_cell_exactly_when_matching_each_cell_fails(seed):
    rng = random.Random(seed)
    limits = rng.choice([(300001, 32), (10, 3), (1048576, 16384)])
    odd, plain = sheet_parts._odd_cell(*limits), _reference_plain_cell(*limits)
    for _ in range(50):
        tags = []
        for _ in range(rng.randint(0, 8)):
            if rng.random() < 0.8:
                row, column = rng.randint(1, limits[0]), rng.randint(1, limits[1])
                attributes = "".join(rng.sample([' s="5"', ' t="n"', ' cm="2"'], rng.randint(0, 2)))
                tags.append(f'<c r="{get_column_letter(column)}{row}"{attributes}>')
            else:
                tags.append("<c" + "".join(rng.choices(TAG_PARTS, k=rng.randint(0, 4))) + ">")
        region = "<v>1</v>".join(tags).encode()
        every_cell_plain = plain.subn(b"", region)[1] == region.count(b"<c")
        assert (odd.search(region) is None) == every_cell_plain, region
