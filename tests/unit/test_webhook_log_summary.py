"""The call log's summaries: short, redacted, and as cheap as what they keep."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from loyalty.services.deliverect.call_log import SUMMARY_LIMIT, redact, summarise

ORDER = {
    "accountId": "5f1",
    "sessionId": "s-1",
    "apiKey": "sk_live_123",
    "order": {
        "customer": {"email": "ann@x.com", "phoneNumber": "+32470123456", "name": "Ann Zed"},
        "items": [{"plu": "PLU-001", "name": "Margherita", "price": 1150, "quantity": 2}],
        "note": "ring twice",
    },
}


def test_summary_keeps_ids_and_amounts_and_hides_people_and_secrets():
    text = summarise(ORDER)
    for hidden in ("ann@x.com", "+32470123456", "Ann Zed", "sk_live_123", "ring twice"):
        assert hidden not in text
    for kept in ("5f1", "s-1", "PLU-001", "1150"):
        assert kept in text


def test_a_long_body_is_cut_at_the_limit_and_stays_redacted():
    body = {
        "customer": {"email": "ann@x.com"},
        "items": [{"plu": f"PLU-{n}", "price": n} for n in range(2000)],
        "id": "guest@shop.example",
    }
    text = summarise(body)
    assert len(text) == SUMMARY_LIMIT
    assert text.endswith("…")
    assert text.startswith('{"customer":{"email":"[redacted]"},"items":[{"plu":"PLU-0","price":0}')
    assert "@" not in text


def test_a_list_answer_is_its_length_and_first_ids():
    programs = [{"programId": f"p{n}", "applicable": n % 3 == 0, "cost": 100} for n in range(50)]
    assert json.loads(summarise(programs)) == {
        "count": 50,
        "programIds": ["p0", "p1", "p2", "p3", "p4"],
        "applicable": 17,
    }


def test_ids_that_look_like_a_person_are_hidden_in_a_list_answer_too():
    customers = [{"providerId": "bob@x.com"}, {"providerId": "+32470123456"}]
    assert json.loads(summarise(customers)) == {
        "count": 2,
        "providerIds": ["[redacted]", "[redacted]"],
    }


def test_nothing_to_summarise_is_none():
    assert summarise(None) is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["email", "name", "plu", "apiKey", "code", "price", "id", "x"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=40,
)


@given(json_values)
def test_summary_is_the_redacted_json_cut_to_the_limit(value):
    # List answers are digested instead (tested above).
    assume(value is not None)
    assume(not (isinstance(value, list) and value and all(isinstance(i, dict) for i in value)))
    full = json.dumps(redact(value), separators=(",", ":"), ensure_ascii=False)
    expected = full if len(full) <= SUMMARY_LIMIT else full[: SUMMARY_LIMIT - 1] + "…"
    assert summarise(value) == expected


def test_redaction_takes_linear_time_on_long_strings_without_an_at_sign():
    """Item 1: the e-mail pattern backtracked quadratically (40 KB took seconds)."""
    long_text = "a" * 1_000_000
    started = time.perf_counter()
    text = summarise({"orderId": long_text, "id": long_text + " x@" + long_text})
    assert time.perf_counter() - started < 0.5
    assert len(text) == SUMMARY_LIMIT


@pytest.mark.parametrize(
    "value",
    ["marie@example.com", "x" * 50_000 + " marie@example.com", "a@b", "Shop order for m@x.be"],
)
def test_anything_that_looks_like_an_email_is_still_hidden(value):
    assert summarise({"id": value}) == '{"id":"[redacted]"}'


@pytest.mark.parametrize("value", ["@", "a @ b", "@@", "ends with@", "@starts"])
def test_an_at_sign_alone_is_not_an_email(value):
    assert summarise({"id": value}) == json.dumps({"id": value}, separators=(",", ":"))


def test_deep_nesting_is_summarised_without_recursing_to_the_limit():
    value: dict = {}
    for _ in range(5000):
        value = {"x": value}
    text = summarise(value)
    assert text.startswith('{"x":{"x":') and '"…"' in text
