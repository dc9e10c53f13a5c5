"""Exports are safe to open (issue 14): text a spreadsheet would run as a formula gets a leading quote, and the
import takes exactly that quote off again (``grc.spreadsheet``). OWASP "CSV injection": = + - @ tab, carriage return.
"""
from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from grc.spreadsheet import append_row, neutralise, restore

FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "\tindented",
            "\rreturn", "=", "-"]


@pytest.mark.parametrize("text", FORMULAS)
def test_text_a_spreadsheet_would_run_gets_one_leading_quote(text: str) -> None:
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", FORMULAS)
def test_the_import_takes_the_added_quote_off_again(text: str) -> None:
    assert restore(neutralise(text)) == text


@pytest.mark.parametrize("text", ["Card-not-present fraud", "Carrier fails; -2 days", "", "'", "'quoted",
                                  "it's fine", " =leading space", "R-001", "2026-01-31", "#N/A"])
def test_ordinary_text_is_untouched_both_ways(text: str) -> None:
    assert neutralise(text) == text and restore(text) == text


@pytest.mark.parametrize("text", ["'=already quoted by its author", "''@twice", "'-1"])
def test_a_users_own_quote_before_a_trigger_survives_the_round_trip(text: str) -> None:
    assert neutralise(text) == "'" + text  # one more quote, so the import can tell the added one
    assert restore(neutralise(text)) == text


@pytest.mark.parametrize("value", [-3, -0.5, 0, 7, True, False, None, date(2026, 1, 31)])
def test_numbers_negative_ones_too_dates_booleans_and_none_are_not_text_and_untouched(value: object) -> None:
    assert neutralise(value) is value


def test_an_xlsx_row_stores_text_as_string_cells_and_keeps_numbers_and_dates_typed() -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)
    append_row(sheet, ["=1+1", "#N/A", "Ordinary", None, -3, 2.5, True, date(2026, 1, 31)])
    saved = io.BytesIO()
    workbook.save(saved)
    cells = next(load_workbook(io.BytesIO(saved.getvalue())).worksheets[0].iter_rows())
    assert [cell.data_type for cell in cells[:7]] == ["s", "s", "s", "n", "n", "n", "b"]
    assert [cell.value for cell in cells[:7]] == ["'=1+1", "#N/A", "Ordinary", None, -3, 2.5, True]
    assert cells[7].is_date and cells[7].value.date() == date(2026, 1, 31)
