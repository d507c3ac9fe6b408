"""The guest pages' brand colour: read as #rrggbb, with readable text on it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.rules.brand import (
    BLACK,
    DEFAULT_BRAND,
    WHITE,
    ColourError,
    contrast_ratio,
    parse_colour,
    text_colour_on,
)


def test_colours_are_kept_lower_case_with_their_hash():
    assert parse_colour(" #A31F34 ") == "#a31f34"
    assert parse_colour("a31f34") == "#a31f34"
    assert parse_colour("") is None and parse_colour(None) is None


@pytest.mark.parametrize("typed", ["red", "#fff", "#12345g", "#1234567", "#12 456", "#a31f34;}"])
def test_anything_else_is_refused(typed):
    with pytest.raises(ColourError):
        parse_colour(typed)


def test_contrast_ratio_matches_wcag_examples():
    assert contrast_ratio(WHITE, BLACK) == pytest.approx(21)
    assert contrast_ratio("#777777", WHITE) == pytest.approx(4.48, abs=0.01)


def test_dark_colours_get_white_text_and_light_ones_black():
    assert text_colour_on("#1f5f8b") == WHITE
    assert text_colour_on("#f5d90a") == BLACK
    assert text_colour_on(DEFAULT_BRAND) == WHITE


@given(st.integers(min_value=0, max_value=0xFFFFFF))
def test_the_text_on_any_colour_reaches_aa_contrast(value):
    colour = f"#{value:06x}"
    assert contrast_ratio(colour, text_colour_on(colour)) >= 4.5
