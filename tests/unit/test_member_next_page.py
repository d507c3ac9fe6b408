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


@pytest.mark.parametrize(
    "target",
    [
        "/m/trattoria/.%2E/.%2E/x",
        "/m/trattoria/%2e%2e/burgerbar/",
        "/m/trattoria/%2E%2E",
        "/m/trattoria/./../../x",
        "/m/trattoria/%2F%2Fevil.example",
        "/m/trattoria/%5Cevil",
        "/m/trattoria/%0d%0aSet-Cookie:%20x",
        "/m/trattoria/%252e%252e/x",
        "/m/trattoria/%ff",
    ],
)
def test_a_path_is_judged_as_the_browser_will_read_it(target):
    assert local_next(target, PREFIX) is None


@pytest.mark.parametrize(
    ("target", "resolved"),
    [
        ("/m/trattoria/./me", "/m/trattoria/me"),
        ("/m/trattoria/x/../me", "/m/trattoria/me"),
        ("/m/trattoria/%6De", "/m/trattoria/me"),
    ],
)
def test_the_resolved_path_is_where_the_guest_goes(target, resolved):
    assert local_next(target, PREFIX) == resolved
