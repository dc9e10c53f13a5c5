"""Spreadsheet files the API produces (CSV, XLSX) are safe to open: user text never runs as a formula.

OWASP "CSV injection": a cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
read as a formula by spreadsheet programs. ``neutralise`` prefixes such text with a single quote, which the
programs show as text; it stays readable. ``restore`` takes that one quote off again when a file the API produced
comes back (the register import), so an export imports to the original text.

Text already starting with quotes before a trigger (``'=x``) gets one more quote (``''=x``), so ``restore`` can
always tell the added quote from the user's own: ``restore(neutralise(text)) == text`` for every text. Values
that are not text (numbers, negative ones too, dates, booleans, None) are never touched.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"

T = TypeVar("T")


def neutralise(value: T) -> T:
    """``value`` with a quote in front when it is text a spreadsheet would read as a formula; else ``value``."""
    if isinstance(value, str) and value.lstrip(QUOTE).startswith(TRIGGERS):
        return cast(T, QUOTE + value)
    return value


def restore(text: str) -> str:
    """The text ``neutralise`` was given: without the one quote it added, if it added one."""
    if text.startswith(QUOTE) and text.lstrip(QUOTE).startswith(TRIGGERS):
        return text[1:]
    return text


def append_row(sheet: Worksheet, values: Iterable[Any]) -> None:
    """Append one row of cells: text neutralised and always stored as a string cell (openpyxl would otherwise store
    text starting with "=" as a formula and "#N/A" as an error); numbers, dates and booleans keep their types."""
    row = [neutralise(value) for value in values]
    sheet.append(row)
    for column, value in enumerate(row, start=1):
        if isinstance(value, str):
            sheet.cell(row=sheet.max_row, column=column).data_type = "s"
