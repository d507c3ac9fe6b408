"""After signing in, a guest goes only to a page of the same restaurant's member pages."""

from __future__ import annotations

import pytest

from loyalty.members.next_page import local_next

PREFIX = "/m/trattoria/"


@pytest.mark.parametrize("target", ["/m/trattoria/", "/m/trattoria/me", "/m/trattoria/me?x=1"])
def test_a_member_page_of_the_restaurant_is_kept(target):
    assert local_next(target, PREFIX) == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        42,
        "https://evil.example/m/trattoria/",
        "//evil.example",
        "/m/trattoria//evil.example",
        "/m/trattoria/\\evil",
        "/m/trattoria/../../login",
        "/m/trattoria/..",
        "/m/trattoria-other/",
        "/m/burgerbar/",
        "/m/trattoria/\r\nSet-Cookie: x",
        "/m/trattoria/" + "x" * 300,
    ],
)
def test_anything_else_is_dropped(target):
    assert local_next(target, PREFIX) is None
