"""Campaign definitions: what the wire may say, what drafts may leave out, and the round trip."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.rules.campaigns import (
    AccountState,
    CampaignStatus,
    CouponState,
    MessageState,
    OrderState,
    WalletState,
    campaign_to_json,
    check_campaign_id,
    parse_campaign,
    percent_to_json,
)
from loyalty.rules.durations import Duration, DurationError, parse_duration
from loyalty.time import to_iso
from loyalty.validation import FieldErrors

SUMMER = {
    "id": "summer_2024",
    "type": "STANDARD",
    "name": "Summer",
    "activeFrom": "2024-06-01T00:00:00Z",
    "activeTo": "2024-08-31T23:59:59Z",
    "constraints": [{"field": "tags.vip", "op": "EXISTS", "value": []}],
    "states": [
        {
            "id": "s1",
            "type": "COUPON",
            "transitionTo": "s2",
            "couponType": "PERCENT",
            "value": 12.5,
            "validDays": 14,
            "codePrefix": "SUM",
            "title": "12.5 % off",
        },
        {"id": "s2", "type": "WALLET", "points": 50},
    ],
    "dynamic": True,
    "notifications": [],
}


def campaign(**changes) -> dict:
    data = copy.deepcopy(SUMMER)
    data.update(changes)
    return data


def state(index: int, **changes) -> dict:
    data = campaign()
    data["states"][index].update(changes)
    return data


def errors_of(data, draft: bool = False) -> dict[str, str]:
    with pytest.raises(FieldErrors) as raised:
        parse_campaign(data, draft=draft)
    return raised.value.errors


# --- the spec's example


def test_the_spec_example_reads_as_a_campaign_with_typed_states():
    summer = parse_campaign(SUMMER, draft=False)

    assert summer.id == "summer_2024" and summer.name == "Summer" and summer.dynamic
    assert summer.active_from == datetime(2024, 6, 1, tzinfo=UTC)
    coupon, wallet = summer.states
    assert isinstance(coupon, CouponState) and coupon.value == 1250  # hundredths of a percent
    assert coupon.transition_to == "s2" and coupon.code_prefix == "SUM"
    assert isinstance(wallet, WalletState) and wallet.points == 50
    assert wallet.transition_to is None  # terminal
    assert summer.state("s2") is wallet and summer.state("nope") is None


def test_the_spec_example_is_written_back_exactly():
    assert campaign_to_json(parse_campaign(SUMMER, draft=False)) == SUMMER


def test_read_only_extras_are_ignored_on_the_way_in_and_written_from_the_status():
    sent = campaign(initialized=True, cnt=99, stateStats={"s1": 3})
    sent["states"][0]["stats"] = 7
    summer = parse_campaign(sent, draft=False)
    status = CampaignStatus(
        initialized=True,
        initialized_at=datetime(2024, 6, 1, tzinfo=UTC),
        initialized_by="ann",
        cnt=1234,
        state_stats={"s1": 310},
        state_reached={"s1": 400},
        samples=("acc-1",),
    )

    out = campaign_to_json(summer, status)

    assert summer == parse_campaign(SUMMER, draft=False)
    assert out["initialized"] is True and out["initializedAt"] == "2024-06-01T00:00:00Z"
    assert out["cnt"] == 1234 and out["stateStats"] == {"s1": 310}
    assert out["states"][0]["stats"] == 400 and "stats" not in out["states"][1]
    assert out["samples"] == ["acc-1"] and out["finalizedAt"] is None


# --- every state type


def test_every_state_type_reads_its_own_fields():
    data = campaign(
        states=[
            {
                "id": "wait",
                "type": "ACCOUNT",
                "transitionTo": "order",
                "constraints": [{"field": "counters.orders", "op": "GTE", "value": ["1"]}],
                "timeout": "P7D",
                "timeoutTransitionTo": "hello",
            },
            {
                "id": "order",
                "type": "ORDER",
                "transitionTo": "hello",
                "constraints": [{"field": "order.channel", "op": "IN", "value": ["app", "web"]}],
                "minTotal": 1500,
                "count": 3,
                "timeout": "PT12H",
            },
            {
                "id": "hello",
                "type": "MESSAGE",
                "transitionTo": "gift",
                "title": "Thanks",
                "message": "Here is a burger",
                "payload": {"screen": "coupons"},
            },
            {
                "id": "gift",
                "type": "COUPON",
                "couponType": "PRODUCT",
                "product": "BURGER",
                "validTo": "2024-09-30T00:00:00Z",
                "expiredTransitionTo": "points",
            },
            {"id": "points", "type": "WALLET", "points": 100, "validDays": 90},
        ]
    )
    wait, order, hello, gift, points = parse_campaign(data, draft=False).states

    assert isinstance(wait, AccountState) and wait.timeout == Duration(days=7)
    assert wait.timeout_transition_to == "hello"
    assert isinstance(order, OrderState) and order.orders_needed == 3 and order.min_total == 1500
    assert order.timeout == Duration(hours=12) and order.constraints[0].value == ("app", "web")
    assert isinstance(hello, MessageState) and hello.payload == {"screen": "coupons"}
    assert isinstance(gift, CouponState) and gift.product == "BURGER" and gift.value is None
    assert gift.expired_transition_to == "points"
    assert isinstance(points, WalletState) and points.valid_days == 90
    assert campaign_to_json(parse_campaign(data, draft=False))["states"] == [
        {**s, **({"payload": s.get("payload", {})} if s["type"] == "MESSAGE" else {})}
        for s in data["states"]
    ]


def test_an_order_state_counts_one_order_when_count_is_left_out():
    data = campaign(states=[{"id": "s1", "type": "ORDER", "constraints": []}])
    assert parse_campaign(data, draft=False).states[0].orders_needed == 1


def test_amount_coupons_are_whole_minor_units():
    ok = state(0, couponType="AMOUNT", value=500)
    assert parse_campaign(ok, draft=False).states[0].value == 500
    for wrong in (0, -5, 2.5, "500", True, 10**9):
        assert "states[0].value" in errors_of(state(0, couponType="AMOUNT", value=wrong))


@pytest.mark.parametrize(
    ("value", "hundredths"), [(12.5, 1250), (100, 10000), (0.01, 1), (12.34, 1234), (50, 5000)]
)
def test_percent_coupons_keep_up_to_two_decimals_exactly(value, hundredths):
    parsed = parse_campaign(state(0, value=value), draft=False)
    assert parsed.states[0].value == hundredths
    assert percent_to_json(hundredths) == value


@pytest.mark.parametrize("value", [0, 100.01, 12.345, -1, "12.5", None])
def test_percent_coupons_are_refused_outside_0_to_100_or_finer_than_hundredths(value):
    assert "states[0].value" in errors_of(state(0, value=value))


def test_a_product_coupon_names_its_product_and_has_no_value():
    assert "states[0].product" in errors_of(state(0, couponType="PRODUCT", value=None))
    assert "states[0].value" in errors_of(
        state(0, couponType="PRODUCT", product="BURGER", value=10)
    )
    assert "states[0].product" in errors_of(state(0, product="BURGER"))


def test_a_coupon_needs_one_validity_not_two():
    assert "states[0].validDays" in errors_of(state(0, validTo="2024-09-01T00:00:00Z"))
    assert "states[0].validDays" in errors_of(state(0, validDays=None))
    assert "states[0].validDays" in errors_of(state(0, validDays=0))


@pytest.mark.parametrize("prefix", ["sum", "S0M", "SUMMER1", "", "I-L"])
def test_code_prefixes_are_short_and_from_the_coupon_alphabet(prefix):
    assert "states[0].codePrefix" in errors_of(state(0, codePrefix=prefix))


def test_wallet_points_are_a_positive_whole_number():
    for wrong in (0, -1, 1.5, "50", False):
        assert "states[1].points" in errors_of(state(1, points=wrong))
    assert "states[1].points" in errors_of(state(1, points=None))


# --- ids and transitions


def test_state_ids_are_unique_and_transitions_name_states_of_the_campaign():
    errors = errors_of(
        campaign(
            states=[
                {"id": "s1", "type": "WALLET", "points": 1, "transitionTo": "s9"},
                {"id": "s1", "type": "MESSAGE", "title": "t", "message": "m"},
                {
                    "id": "s3",
                    "type": "COUPON",
                    "couponType": "AMOUNT",
                    "value": 1,
                    "validDays": 1,
                    "expiredTransitionTo": "gone",
                },
                {"id": "s4", "type": "ORDER", "timeoutTransitionTo": "s1"},
            ]
        )
    )
    assert errors["states[0].transitionTo"] == "must be the id of a state of this campaign"
    assert errors["states[1].id"] == "another state already has this id"
    assert "states[2].expiredTransitionTo" in errors
    assert errors["states[3].timeoutTransitionTo"] == "needs a timeout"


@pytest.mark.parametrize("state_id", ["", "a" * 33, "s 1", "s.1", 7])
def test_state_ids_are_1_to_32_of_the_id_pattern(state_id):
    errors = errors_of(state(1, id=state_id), draft=True)
    assert "states[1].id" in errors


def test_a_loop_of_wallet_states_would_credit_forever_and_is_refused():
    data = campaign(
        states=[
            {"id": "a", "type": "WALLET", "points": 1, "transitionTo": "b"},
            {"id": "b", "type": "WALLET", "points": 1, "transitionTo": "a"},
        ]
    )
    errors = errors_of(data, draft=True)
    assert "states[0].transitionTo" in errors and "states[1].transitionTo" in errors


def test_a_loop_through_a_waiting_state_is_a_campaign_that_repeats():
    data = campaign(
        states=[
            {"id": "order", "type": "ORDER", "transitionTo": "points", "constraints": []},
            {"id": "points", "type": "WALLET", "points": 10, "transitionTo": "order"},
        ]
    )
    assert len(parse_campaign(data, draft=False).states) == 2


@pytest.mark.parametrize("campaign_id", ["ab", "a" * 65, "sum mer", "été", None, 12])
def test_path_campaign_ids_are_3_to_64_of_the_id_pattern(campaign_id):
    with pytest.raises(FieldErrors) as raised:
        check_campaign_id(campaign_id)
    assert list(raised.value.errors) == ["campaign"]


def test_a_body_id_may_be_empty_but_never_break_the_pattern():
    assert parse_campaign(campaign(id=""), draft=False).id == ""
    assert parse_campaign(campaign(id=None), draft=False).id == ""
    assert "id" in errors_of(campaign(id="sum mer"))
    assert "id" in errors_of(campaign(id="a" * 65))
    assert check_campaign_id("summer_2024") == "summer_2024"


# --- campaign-level limits


def test_names_types_and_windows_are_checked():
    assert "name" in errors_of(campaign(name="ab"))
    assert "name" in errors_of(campaign(name="x" * 129))
    assert "type" in errors_of(campaign(type="WEEKLY"))
    errors = errors_of(campaign(activeFrom="2024-09-01T00:00:00Z"))
    assert errors == {"activeTo": "must be after activeFrom"}
    assert "activeFrom" in errors_of(campaign(activeFrom="2024-06-01T00:00:00"))  # no offset
    assert "dynamic" in errors_of(campaign(dynamic="yes"))


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_moments_an_offset_pushes_off_the_calendar_are_refused_not_crashed_on(moment):
    assert "activeFrom" in errors_of(campaign(activeFrom=moment), draft=True)
    broken = campaign(constraints=[{"field": "header.created", "op": "LT", "value": [moment]}])
    assert "constraints[0].value[0]" in errors_of(broken, draft=True)


def test_counts_of_constraints_states_and_notifications_are_bounded():
    vip = {"field": "tags.vip", "op": "EXISTS", "value": []}
    wallet = {"id": "s", "type": "WALLET", "points": 1}
    note = {"type": "DYNAMIC_JOIN", "title": "t", "message": "m"}
    assert "constraints" in errors_of(campaign(constraints=[vip] * 17))
    assert "constraints" in errors_of(campaign(constraints=[]))
    assert "states" in errors_of(campaign(states=[{**wallet, "id": f"s{i}"} for i in range(11)]))
    assert "states" in errors_of(campaign(states=[]))
    assert "notifications" in errors_of(campaign(notifications=[note] * 4))


def test_constraint_problems_are_keyed_by_their_json_path():
    errors = errors_of(
        campaign(
            constraints=[
                {"field": "counters.orders", "op": "GTE", "value": ["five"]},
                {"field": "wallet.points", "op": "EQ", "value": ["1"]},
                {"field": "tags.vip", "op": "MAYBE", "value": []},
                {"field": "tags.vip", "op": "EXISTS", "value": "x"},
            ]
        )
    )
    assert errors["constraints[0].value[0]"] == "must be a whole number"
    assert "constraints[1].field" in errors
    assert "constraints[2].op" in errors
    assert "constraints[3].value" in errors


def test_order_states_take_order_fields_and_account_states_account_fields():
    errors = errors_of(
        campaign(
            states=[
                {
                    "id": "o",
                    "type": "ORDER",
                    "transitionTo": "a",
                    "constraints": [{"field": "tags.vip", "op": "EXISTS", "value": []}],
                },
                {
                    "id": "a",
                    "type": "ACCOUNT",
                    "constraints": [{"field": "order.total", "op": "GT", "value": ["1"]}],
                },
            ]
        )
    )
    assert "states[0].constraints[0].field" in errors
    assert "states[1].constraints[0].field" in errors


def test_timeouts_are_positive_iso_durations():
    base = {"id": "o", "type": "ORDER", "constraints": []}
    for wrong in ("7 days", "-P7D", "P", "PT", "P0D", 7):
        assert "states[0].timeout" in errors_of(campaign(states=[{**base, "timeout": wrong}]))


def test_notifications_read_their_own_fields():
    data = campaign(
        notifications=[
            {
                "type": "COUPON_EXPIRATION",
                "title": "Soon",
                "message": "Use it",
                "payload": {},
                "dayPart": "MORNING",
                "daysBefore": 2,
            },
            {
                "type": "SPECIFIC_TIME",
                "title": "Hi",
                "message": "News",
                "payload": {"k": "v"},
                "at": "2024-07-01T09:00:00Z",
            },
            {"type": "DYNAMIC_JOIN", "title": "Welcome", "message": "In", "payload": {}},
        ]
    )
    expiring, specific, joined = parse_campaign(data, draft=False).notifications
    assert expiring.days_before == 2 and expiring.day_part == "MORNING"
    assert specific.at == datetime(2024, 7, 1, 9, tzinfo=UTC)
    assert joined.type == "DYNAMIC_JOIN"
    assert campaign_to_json(parse_campaign(data, draft=False)) == data


def test_notification_problems_are_named():
    errors = errors_of(
        campaign(
            notifications=[
                {"type": "COUPON_EXPIRATION", "title": "t" * 257, "message": "m"},
                {"type": "SPECIFIC_TIME", "title": "t", "message": "m", "payload": {"k": 1}},
                {"type": "SMS"},
            ]
        )
    )
    assert "notifications[0].title" in errors and "notifications[0].daysBefore" in errors
    assert "notifications[1].at" in errors and "notifications[1].payload.k" in errors
    assert "notifications[2].type" in errors


# --- drafts


def test_a_draft_may_be_incomplete():
    draft = parse_campaign({"id": "new_one"}, draft=True)
    assert draft.name is None and draft.states == () and draft.type == "STANDARD"

    half_done = parse_campaign(
        {
            "id": "x1",
            "name": "Half",
            "constraints": [],
            "states": [{"id": "s1", "type": "COUPON"}, {"id": "s2", "type": "WALLET"}],
        },
        draft=True,
    )
    assert half_done.states[0].coupon_type is None and half_done.states[1].points is None


def test_initialising_refuses_what_a_draft_allowed():
    errors = errors_of(
        {"id": "x1", "states": [{"id": "s1", "type": "COUPON"}, {"id": "s2", "type": "WALLET"}]}
    )
    assert {
        "name",
        "constraints",
        "type",
        "states[0].couponType",
        "states[0].validDays",
        "states[1].points",
    } <= set(errors)


def test_a_draft_still_refuses_what_is_wrong():
    errors = errors_of(
        {"id": "bad id", "name": 5, "states": [{"id": "s1", "type": "PIGEON"}]}, draft=True
    )
    assert set(errors) == {"id", "name", "states[0].type"}
    assert errors_of([], draft=True) == {"campaign": "must be an object"}


# --- durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P30D", Duration(days=30)),
        ("-P30D", Duration(negative=True, days=30)),
        ("PT12H30M", Duration(hours=12, minutes=30)),
        ("P1Y2M3W4DT5H6M7S", Duration(False, 1, 2, 3, 4, 5, 6, 7)),
    ],
)
def test_durations_read_the_iso_subset(text, expected):
    assert parse_duration(text, signed=True) == expected
    assert expected.to_text() == text


def test_calendar_months_end_on_the_last_day_when_the_day_is_missing():
    moment = datetime(2024, 1, 31, 10, tzinfo=UTC)
    assert Duration(months=1).shift(moment) == datetime(2024, 2, 29, 10, tzinfo=UTC)
    assert Duration(negative=True, days=30).shift(moment) == datetime(2024, 1, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "P",
        "PT",
        "P1DT",
        "P1.5D",
        "P1H",
        "1D",
        "P" + "9" * 30 + "D",
        "PP1D",
        "P1D1D",
        "P1D" + "x" * 40,
    ],
)
def test_durations_outside_the_subset_are_refused(text):
    with pytest.raises(DurationError):
        parse_duration(text, signed=True)


def test_a_hostile_duration_costs_no_time():
    with pytest.raises(DurationError):
        parse_duration("P" + "1" * 10_000 + "D")


# --- the round trip


moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
stamps = moments.map(to_iso)
ids = st.from_regex(r"[a-zA-Z0-9_-]{1,32}", fullmatch=True)
texts = st.text(max_size=20)
account_constraints = st.one_of(
    st.builds(
        lambda name, n: {"field": f"counters.{name}", "op": "GTE", "value": [str(n)]},
        st.sampled_from(["orders", "spent", "stamps"]),
        st.integers(-1000, 10**6),
    ),
    st.builds(lambda t: {"field": f"tags.{t}", "op": "EXISTS", "value": []}, ids),
    st.builds(
        lambda vs: {"field": "properties.my_fav", "op": "IN", "value": vs},
        st.lists(texts, min_size=1, max_size=16),
    ),
    st.builds(
        lambda d: {"field": "header.lastOrder", "op": "LT", "value": [f"-P{d}D"]},
        st.integers(0, 999),
    ),
    st.just({"field": "header.birthdate", "op": "EQ", "value": ["--02-29"]}),
)
order_constraints = st.one_of(
    st.builds(lambda p: {"field": "order.product", "op": "EQ", "value": [p]}, ids),
    st.builds(
        lambda n: {"field": "order.total", "op": "GT", "value": [str(n)]}, st.integers(0, 10**6)
    ),
)


def _maybe(strategy):
    return st.one_of(st.none(), strategy)


def _without_none(data: dict) -> dict:
    return {key: value for key, value in data.items() if value is not None}


@st.composite
def campaigns(draw):
    count = draw(st.integers(1, 10))
    state_ids = [f"s{i}" for i in range(count)]
    states = []
    for index, state_id in enumerate(state_ids):
        kind = draw(st.sampled_from(["ACCOUNT", "COUPON", "MESSAGE", "ORDER", "WALLET"]))
        # A WALLET state only moves forwards, so no loop is made of WALLET states alone.
        targets = state_ids[index + 1 :] if kind == "WALLET" else state_ids
        base = {
            "id": state_id,
            "type": kind,
            "transitionTo": draw(_maybe(st.sampled_from(targets))) if targets else None,
        }
        if kind in ("ACCOUNT", "ORDER"):
            timeout = draw(_maybe(st.integers(1, 99).map(lambda d: f"P{d}DT1H")))
            base.update(
                constraints=draw(
                    st.lists(
                        account_constraints if kind == "ACCOUNT" else order_constraints,
                        min_size=1 if kind == "ACCOUNT" else 0,
                        max_size=3,
                    )
                ),
                timeout=timeout,
                timeoutTransitionTo=draw(_maybe(st.sampled_from(state_ids))) if timeout else None,
            )
        if kind == "ORDER":
            base.update(
                minTotal=draw(_maybe(st.integers(0, 10**6))), count=draw(_maybe(st.integers(1, 10)))
            )
        if kind == "COUPON":
            coupon_type = draw(st.sampled_from(["PERCENT", "AMOUNT", "PRODUCT"]))
            value = {
                "PERCENT": draw(st.integers(1, 10_000).map(percent_to_json)),
                "AMOUNT": draw(st.integers(1, 10**6)),
                "PRODUCT": None,
            }[coupon_type]
            by_days = draw(st.booleans())
            base.update(
                couponType=coupon_type,
                value=value,
                product=draw(ids) if coupon_type == "PRODUCT" else None,
                validDays=draw(st.integers(1, 365)) if by_days else None,
                validTo=None if by_days else draw(stamps),
                codePrefix=draw(_maybe(st.from_regex(r"[2-9A-HJKMNP-Z]{1,6}", fullmatch=True))),
                title=draw(_maybe(texts)),
                expiredTransitionTo=draw(_maybe(st.sampled_from(state_ids))),
            )
        if kind == "MESSAGE":
            base.update(
                title=draw(texts.filter(bool)),
                message=draw(texts.filter(bool)),
                payload=draw(st.dictionaries(ids, texts, max_size=3)),
            )
        if kind == "WALLET":
            base.update(
                points=draw(st.integers(1, 10**6)), validDays=draw(_maybe(st.integers(1, 365)))
            )
        states.append(_without_none(base))
    start, end = map(to_iso, sorted(draw(st.lists(moments, min_size=2, max_size=2, unique=True))))
    return _without_none(
        {
            "id": draw(ids),
            "type": draw(st.sampled_from(["STANDARD", "BIRTHDAY"])),
            "name": draw(st.text(min_size=3, max_size=20).filter(lambda n: len(n) >= 3)),
            "activeFrom": start if draw(st.booleans()) else None,
            "activeTo": end,
            "constraints": draw(st.lists(account_constraints, min_size=1, max_size=16)),
            "states": states,
            "dynamic": draw(st.booleans()),
            "notifications": draw(
                st.lists(
                    st.builds(
                        lambda t: {"type": "DYNAMIC_JOIN", "title": t, "message": t, "payload": {}},
                        texts.filter(bool),
                    ),
                    max_size=3,
                )
            ),
        }
    )


@settings(max_examples=150)
@given(campaigns())
def test_what_the_writer_writes_is_what_was_read(data):
    parsed = parse_campaign(data, draft=False)
    assert campaign_to_json(parsed) == data
    assert parse_campaign(campaign_to_json(parsed), draft=True) == parsed


@settings(max_examples=150)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "id",
                        "type",
                        "name",
                        "states",
                        "constraints",
                        "value",
                        "field",
                        "op",
                        "points",
                        "transitionTo",
                        "timeout",
                    ]
                ),
                children,
                max_size=5,
            )
        ),
        max_leaves=20,
    )
)
def test_any_json_gives_a_campaign_or_field_errors_never_a_crash(data):
    for draft in (True, False):
        try:
            parse_campaign(data, draft=draft)
        except FieldErrors as errors:
            assert errors.errors
