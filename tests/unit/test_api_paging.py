"""react-admin paging as the API reads it: json-server and simple-rest styles, both bounded."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.api.errors import ApiError
from loyalty.api.lists import DEFAULT_PAGE, MAX_PAGE, ListQuery, paging

SORTABLE = ("id", "name")


def page_of(**params):
    return paging(ListQuery.model_validate(params), SORTABLE, "id")


def test_no_parameters_gives_the_first_page_in_the_default_order():
    page = page_of()
    assert (page.offset, page.limit, page.sort, page.descending) == (0, DEFAULT_PAGE, "id", False)


def test_json_server_start_and_end_are_a_half_open_window():
    page = page_of(_start=10, _end=30, _sort="name", _order="DESC")
    assert (page.offset, page.limit, page.sort, page.descending) == (10, 20, "name", True)


def test_simple_rest_range_includes_both_ends():
    page = page_of(range="[0, 24]", sort='["name", "ASC"]')
    assert (page.offset, page.limit, page.sort, page.descending) == (0, 25, "name", False)


def test_a_page_is_never_longer_than_the_maximum():
    assert page_of(_start=0, _end=10_000_000).limit == MAX_PAGE


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"range": "[5, 2]"}, "range"),
        ({"range": "not json"}, "range"),
        ({"range": "[true, 3]"}, "range"),
        ({"range": "[99999999999999999999, 99999999999999999999]"}, "range"),
        ({"sort": '["secret", "ASC"]'}, "sort"),
        ({"sort": '["name", "SIDEWAYS"]'}, "sort"),
        ({"_sort": "password_hash"}, "_sort"),
        ({"_start": 9, "_end": 3}, "_end"),
    ],
)
def test_bad_paging_is_a_400_naming_the_parameter(params, field):
    with pytest.raises(ApiError) as refused:
        page_of(**params)
    assert (refused.value.status, refused.value.field) == (400, field)


@given(st.text(max_size=64))
def test_any_range_text_is_either_a_page_or_a_400(text):
    try:
        page = page_of(range=text)
    except ApiError as refused:
        assert refused.status == 400
    else:
        assert 0 <= page.limit <= MAX_PAGE and page.offset >= 0
