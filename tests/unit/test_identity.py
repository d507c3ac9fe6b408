"""How a typed address or name becomes the one a customer is found by."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.rules.identity import IdentityError, normalise_email, shows_as_typed


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("  Zoe@Example.COM ", "zoe@example.com"),
        ("zoe@example.com.", "zoe@example.com"),  # the DNS root's dot
        ("\ufb01@example.com", "fi@example.com"),  # the 'fi' ligature is 'fi'
        ("zoe@bücher.de", "zoe@xn--bcher-kva.de"),
        ("zoe@xn--bcher-kva.de", "zoe@xn--bcher-kva.de"),
    ],
)
def test_one_address_however_it_is_typed(typed, stored):
    assert normalise_email(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "zo\u200be@example.com",  # zero-width space
        "zoe@exa\u202emple.com",  # right-to-left override
        "zoe\x07@example.com",
        "zoe @example.com",
        "zoe@example..com",
        "zoe@" + "a" * 64 + ".com",  # a DNS label is at most 63
        "zoe@",
        "x" * 5000 + "@example.com",
    ],
)
def test_what_is_not_an_address_is_refused(typed):
    with pytest.raises(IdentityError):
        normalise_email(typed)


@given(st.text(max_size=300))
def test_any_text_is_an_address_or_a_clear_refusal(text):
    try:
        email = normalise_email(text)
    except IdentityError:
        return
    assert email is None or (email == normalise_email(email) and len(email) <= 254)


def test_names_with_hidden_characters_are_told_apart():
    assert shows_as_typed("Zoë Rossi-O'Neil")
    assert shows_as_typed("\u0646\u06cc\u200c\u0648\u0634\u0627")  # Persian needs the non-joiner
    for hidden in ("Zo\u202ee", "Zo\u200be", "Zo\ufeffe", "Zo\u2066e", "Zo\x1be"):
        assert not shows_as_typed(hidden)
