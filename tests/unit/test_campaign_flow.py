"""How members move through a campaign: each state type, timeouts, guards, repeats and reversals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.rules.campaigns import parse_campaign
from loyalty.rules.constraints import AccountFacts, OrderFacts
from loyalty.rules.flow import (
    AccountChanged,
    CouponExpired,
    CouponRedeemed,
    CreditPoints,
    IssueCoupon,
    Join,
    Membership,
    MessageAcknowledged,
    OrderPlaced,
    QueueMessage,
    Tick,
    advance,
    birthday_due,
    birthday_in,
    reverse_order,
)

NOW = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
LUNCH = OrderFacts(total=2500, venue="venue-1", channel="app", products=frozenset({"BURGER"}))
SNACK = OrderFacts(total=500, venue="venue-1")


def campaign_of(*states: dict, **extra):
    return parse_campaign(
        {
            "id": "c1",
            "type": "STANDARD",
            "name": "Test campaign",
            "activeFrom": "2024-06-01T00:00:00Z",
            "activeTo": "2024-09-01T00:00:00Z",
            "constraints": [{"field": "tags.vip", "op": "EXISTS", "value": []}],
            "states": list(states),
            **extra,
        },
        draft=False,
    )


def coupon(state_id: str, to: str | None = None, **fields) -> dict:
    return {
        "id": state_id,
        "type": "COUPON",
        "couponType": "AMOUNT",
        "value": 500,
        "validDays": 14,
        **({"transitionTo": to} if to else {}),
        **fields,
    }


def wallet(state_id: str, to: str | None = None, points: int = 50) -> dict:
    return {
        "id": state_id,
        "type": "WALLET",
        "points": points,
        **({"transitionTo": to} if to else {}),
    }


def order(state_id: str, to: str | None = None, **fields) -> dict:
    return {
        "id": state_id,
        "type": "ORDER",
        "constraints": [],
        **({"transitionTo": to} if to else {}),
        **fields,
    }


def message(state_id: str, to: str | None = None) -> dict:
    return {
        "id": state_id,
        "type": "MESSAGE",
        "title": "Hi",
        "message": "Thanks",
        **({"transitionTo": to} if to else {}),
    }


def account(state_id: str, to: str | None = None, **fields) -> dict:
    return {
        "id": state_id,
        "type": "ACCOUNT",
        "constraints": [{"field": "counters.orders", "op": "GTE", "value": ["5"]}],
        **({"transitionTo": to} if to else {}),
        **fields,
    }


def joined(campaign, now: datetime = NOW, facts: AccountFacts | None = None) -> Membership:
    result = advance(None, campaign, Join("c1/acc-1", facts), now)
    assert result.membership is not None
    return result.membership


def ordered(membership, campaign, order_id: str, facts: OrderFacts = LUNCH, now: datetime = NOW):
    return advance(membership, campaign, OrderPlaced(order_id, facts), now)


# --- entering


def test_joining_enters_the_first_state_and_runs_its_action():
    campaign = campaign_of(coupon("s1"))
    result = advance(None, campaign, Join("c1/acc-1"), NOW)

    assert result.membership.state_id == "s1" and result.membership.entered_at == NOW
    assert [(t.from_state, t.to_state, t.reason) for t in result.transitions] == [
        (None, "s1", "join")
    ]
    assert result.effects == (IssueCoupon(campaign.states[0], "c1/acc-1:s1:1"),)


def test_joining_twice_changes_nothing():
    campaign = campaign_of(coupon("s1"))
    member = joined(campaign)
    assert advance(member, campaign, Join("c1/acc-1"), NOW).membership == member


def test_a_wallet_state_credits_and_moves_on_at_once():
    campaign = campaign_of(wallet("s1", "s2", points=75), message("s2"))
    result = advance(None, campaign, Join("c1/acc-1"), NOW)

    assert result.membership.state_id == "s2"
    credit, queued = result.effects
    assert credit == CreditPoints(campaign.states[0], 75, "c1/acc-1:s1:1")
    assert queued == QueueMessage(campaign.states[1], "c1/acc-1:s2:2")
    assert [t.reason for t in result.transitions] == ["join", "wallet"]


def test_a_state_without_transition_completes_the_flow():
    campaign = campaign_of(wallet("s1"))
    member = joined(campaign)

    assert member.completed and member.state_id is None
    assert advance(member, campaign, OrderPlaced("o1", LUNCH), NOW).membership == member


# --- waiting states


def test_a_coupon_state_moves_on_when_its_coupon_is_redeemed():
    campaign = campaign_of(coupon("s1", "s2"), wallet("s2"))
    member = joined(campaign)
    result = advance(member, campaign, CouponRedeemed("SUMABC", member.entry_key), NOW)

    assert [t.reason for t in result.transitions] == ["coupon_redeemed", "wallet"]
    assert result.membership.completed
    assert isinstance(result.effects[0], CreditPoints)


def test_a_coupon_from_another_entry_moves_nobody():
    campaign = campaign_of(coupon("s1", "s2"), wallet("s2"))
    member = joined(campaign)
    result = advance(member, campaign, CouponRedeemed("OLD", "c1/acc-1:s1:0"), NOW)
    assert result.transitions == () and result.membership.state_id == "s1"


def test_an_expired_coupon_leaves_by_expired_transition_or_ends():
    campaign = campaign_of(
        coupon("s1", "s2", expiredTransitionTo="s3"), wallet("s2"), message("s3")
    )
    member = joined(campaign)
    result = advance(member, campaign, CouponExpired("SUMABC", member.entry_key), NOW)
    assert result.membership.state_id == "s3"
    assert [t.reason for t in result.transitions] == ["coupon_expired"]

    plain = campaign_of(coupon("s1", "s2"), wallet("s2"))
    member = joined(plain)
    assert advance(member, plain, CouponExpired("X", member.entry_key), NOW).membership.completed


def test_a_message_state_waits_for_the_acknowledgement():
    campaign = campaign_of(message("s1", "s2"), coupon("s2"))
    member = joined(campaign)

    assert advance(member, campaign, Tick(), NOW).membership == member
    result = advance(member, campaign, MessageAcknowledged(), NOW)
    assert result.membership.state_id == "s2" and isinstance(result.effects[0], IssueCoupon)


def test_an_order_state_counts_matching_orders_until_it_has_enough():
    campaign = campaign_of(
        order(
            "s1",
            "s2",
            count=2,
            minTotal=1000,
            constraints=[{"field": "order.venue", "op": "EQ", "value": ["venue-1"]}],
        ),
        coupon("s2"),
    )
    member = joined(campaign)
    too_small = ordered(member, campaign, "o0", SNACK)
    assert too_small.membership.orders == () and too_small.transitions == ()
    elsewhere = ordered(member, campaign, "o0", OrderFacts(total=3000, venue="venue-2"))
    assert elsewhere.membership.orders == ()

    first = ordered(member, campaign, "o1")
    assert first.membership.orders == ("o1",) and first.transitions == ()
    second = ordered(first.membership, campaign, "o2")
    assert second.membership.state_id == "s2"
    assert [t.reason for t in second.transitions] == ["order"]


def test_an_account_state_waits_until_the_account_matches():
    campaign = campaign_of(account("s1", "s2"), coupon("s2"))
    member = joined(campaign)
    regular = AccountFacts(counters={"orders": 5})

    assert advance(member, campaign, AccountChanged(AccountFacts()), NOW).transitions == ()
    assert advance(member, campaign, AccountChanged(regular), NOW).membership.state_id == "s2"
    assert advance(member, campaign, Tick(regular), NOW).membership.state_id == "s2"


def test_an_account_state_that_already_matches_on_joining_moves_on():
    campaign = campaign_of(account("s1", "s2"), coupon("s2"))
    member = joined(campaign, facts=AccountFacts(counters={"orders": 9}))
    assert member.state_id == "s2"


# --- time


def test_a_timeout_moves_to_its_transition_or_ends():
    campaign = campaign_of(
        order("s1", "s2", timeout="P7D", timeoutTransitionTo="s3"), coupon("s2"), message("s3")
    )
    member = joined(campaign)

    assert advance(member, campaign, Tick(), NOW + timedelta(days=6)).transitions == ()
    late = advance(member, campaign, Tick(), NOW + timedelta(days=7))
    assert late.membership.state_id == "s3"
    assert [t.reason for t in late.transitions] == ["timeout"]

    ends = campaign_of(account("s1", "s2", timeout="PT1H"), coupon("s2"))
    member = joined(ends)
    assert advance(member, ends, Tick(), NOW + timedelta(hours=1)).membership.completed


def test_a_timeout_beyond_the_calendar_never_comes():
    campaign = campaign_of(order("s1", "s2", timeout="P9999Y"), coupon("s2"))
    member = joined(campaign)
    assert advance(member, campaign, Tick(), NOW).membership == member


def test_an_order_after_the_timeout_is_too_late():
    campaign = campaign_of(order("s1", "s2", timeout="P7D"), coupon("s2"))
    member = joined(campaign)
    result = ordered(member, campaign, "o1", now=NOW + timedelta(days=8))
    assert result.membership.completed
    assert [t.reason for t in result.transitions] == ["timeout"]


def test_nothing_advances_outside_the_active_window():
    campaign = campaign_of(order("s1", "s2"), coupon("s2"))
    member = joined(campaign)
    after = datetime(2024, 9, 1, tzinfo=UTC)
    before = datetime(2024, 5, 31, tzinfo=UTC)

    assert ordered(member, campaign, "o1", now=after).membership == member
    assert advance(None, campaign, Join("c1/acc-2"), before).membership is None


def test_a_finalised_campaign_advances_nobody():
    campaign = campaign_of(order("s1", "s2"), coupon("s2"))
    member = joined(campaign)
    result = advance(member, campaign, OrderPlaced("o1", LUNCH), NOW, finalised=True)
    assert result.membership == member and result.effects == ()
    assert advance(None, campaign, Join("x"), NOW, finalised=True).membership is None


# --- loops


def test_a_loop_through_an_order_state_repeats_once_per_order():
    campaign = campaign_of(order("s1", "s2"), wallet("s2", "s1", points=10))
    member = joined(campaign)
    first = ordered(member, campaign, "o1")
    second = ordered(first.membership, campaign, "o2")

    assert first.membership.state_id == "s1" and second.membership.state_id == "s1"
    keys = [e.key for e in first.effects + second.effects]
    assert keys == ["c1/acc-1:s2:2", "c1/acc-1:s2:4"]  # two credits, never the same key


def test_the_loop_guard_enters_a_state_once_per_advance_and_keeps_the_exit():
    # A matching ACCOUNT state between two WALLET states would loop within one event.
    campaign = campaign_of(account("a", "w"), wallet("w", "a", points=1))
    regular = AccountFacts(counters={"orders": 5})
    member = joined(campaign)

    once = advance(member, campaign, AccountChanged(regular), NOW)
    assert [t.to_state for t in once.transitions] == ["w", "a"]
    assert once.membership.state_id == "a" and once.membership.pending is not None
    assert len(once.effects) == 1

    again = advance(once.membership, campaign, Tick(), NOW)
    assert [t.to_state for t in again.transitions][:1] == ["w"]
    assert len(again.effects) == 1


# --- idempotence


def test_the_same_order_twice_counts_once():
    campaign = campaign_of(order("s1", "s2", count=2), coupon("s2"))
    member = joined(campaign)
    once = ordered(member, campaign, "o1")
    twice = ordered(once.membership, campaign, "o1")
    assert twice.membership == once.membership and twice.transitions == ()


def test_the_same_coupon_redeemed_twice_moves_once():
    campaign = campaign_of(coupon("s1", "s2"), coupon("s2"))
    member = joined(campaign)
    once = advance(member, campaign, CouponRedeemed("C1", member.entry_key), NOW)
    twice = advance(once.membership, campaign, CouponRedeemed("C1", member.entry_key), NOW)
    assert twice.membership == once.membership and twice.effects == ()


@settings(max_examples=150)
@given(
    st.lists(st.sampled_from(["o1", "o2", "o3", "o4", "o5"]), max_size=12),
    st.integers(1, 3),
)
def test_repeating_any_order_moves_nobody_further(order_ids, needed):
    campaign = campaign_of(order("s1", "s2", count=needed), wallet("s2", "s1"))
    member = joined(campaign)
    for order_id in order_ids:
        once = ordered(member, campaign, order_id)
        twice = ordered(once.membership, campaign, order_id)
        assert twice.membership == once.membership and twice.effects == ()
        member = once.membership


# --- reversal


def test_a_cancelled_order_steps_back_and_writes_off_its_credits():
    campaign = campaign_of(order("s1", "s2"), wallet("s2", "s3", points=40), coupon("s3"))
    member = joined(campaign)
    after = ordered(member, campaign, "o1").membership
    assert after.state_id == "s3"

    reversal = reverse_order(after, "o1")
    assert reversal.membership.position == member.position
    assert reversal.membership.history == member.history
    assert [c.points for c in reversal.write_off] == [40]
    assert [c.key for c in reversal.withdraw] == ["c1/acc-1:s3:3"]
    # The cancelled order does not count again if its webhook is replayed.
    assert ordered(reversal.membership, campaign, "o1").transitions == ()


def test_a_cancelled_order_that_used_the_coupon_returns_to_the_coupon_state():
    campaign = campaign_of(coupon("s1", "s2"), wallet("s2"))
    member = joined(campaign)
    used = advance(member, campaign, CouponRedeemed("C1", member.entry_key, "o9"), NOW)

    reversal = reverse_order(used.membership, "o9")
    assert reversal.membership.state_id == "s1"
    assert reversal.membership.entry_key == member.entry_key  # the same coupon is live again
    assert len(reversal.write_off) == 1 and reversal.withdraw == ()
    redeemed_again = advance(
        reversal.membership, campaign, CouponRedeemed("C1", member.entry_key, "o10"), NOW
    )
    assert redeemed_again.membership.completed


def test_a_cancelled_order_not_yet_enough_just_stops_counting():
    campaign = campaign_of(order("s1", "s2", count=3), coupon("s2"))
    member = ordered(joined(campaign), campaign, "o1").membership
    member = ordered(member, campaign, "o2").membership

    reversal = reverse_order(member, "o1")
    assert reversal.membership.orders == ("o2",) and reversal.write_off == ()


def test_cancelling_an_earlier_order_undoes_the_transition_it_helped_make():
    campaign = campaign_of(order("s1", "s2", count=2), wallet("s2", "s3"), coupon("s3"))
    member = ordered(joined(campaign), campaign, "o1").membership
    member = ordered(member, campaign, "o2").membership
    assert member.state_id == "s3"

    reversal = reverse_order(member, "o1")
    assert reversal.membership.state_id == "s1" and reversal.membership.orders == ()
    assert len(reversal.write_off) == 1


def test_cancelling_an_order_that_changed_nothing_changes_nothing():
    campaign = campaign_of(order("s1", "s2"), coupon("s2"))
    member = joined(campaign)
    assert reverse_order(member, "o-unknown").membership == member


@settings(max_examples=150)
@given(st.lists(st.sampled_from(["o1", "o2", "o3", "o4"]), max_size=6), st.integers(1, 3))
def test_reversing_the_last_order_returns_the_member_to_where_it_was(order_ids, needed):
    campaign = campaign_of(
        order("s1", "s2", count=needed), wallet("s2", "s3"), order("s3", "s4"), coupon("s4", "s1")
    )
    member = joined(campaign)
    for order_id in order_ids:
        member = ordered(member, campaign, order_id).membership
    after = ordered(member, campaign, "last")

    reversal = reverse_order(after.membership, "last")
    assert reversal.membership.position == member.position
    assert reversal.membership.history == member.history
    credited = [e for e in after.effects if isinstance(e, CreditPoints)]
    assert list(reversal.write_off) == credited


# --- birthdays


WHOLE_YEAR = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))


def test_a_birthday_in_the_window_is_due():
    assert birthday_due(date(1990, 5, 1), WHOLE_YEAR, 2025, None)
    assert not birthday_due(date(1990, 5, 1), WHOLE_YEAR, 2026, None)


def test_the_birthday_day_only_needs_to_overlap_the_window():
    window = (datetime(2025, 5, 1, 18, tzinfo=UTC), datetime(2025, 5, 10, tzinfo=UTC))
    assert birthday_due(date(1990, 5, 1), window, 2025, None)
    assert not birthday_due(date(1990, 4, 30), window, 2025, None)
    assert not birthday_due(date(1990, 5, 10), window, 2025, None)  # the end is exclusive
    assert birthday_due(date(1990, 5, 9), (None, None), 2025, None)


def test_29_february_is_celebrated_on_28_february_in_other_years():
    assert birthday_in(date(2000, 2, 29), 2025) == date(2025, 2, 28)
    assert birthday_in(date(2000, 2, 29), 2024) == date(2024, 2, 29)
    feb = (datetime(2025, 2, 28, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC))
    assert birthday_due(date(2000, 2, 29), feb, 2025, None)


def test_a_birthdate_set_just_before_the_birthday_is_not_rewarded():
    may = datetime(2025, 5, 1, tzinfo=UTC)
    assert not birthday_due(date(1990, 5, 1), WHOLE_YEAR, 2025, may - timedelta(days=29))
    assert birthday_due(date(1990, 5, 1), WHOLE_YEAR, 2025, may - timedelta(days=30))
    assert not birthday_due(date(1990, 5, 1), WHOLE_YEAR, 2025, may + timedelta(days=60))
    assert birthday_due(date(1990, 5, 1), WHOLE_YEAR, 2025, may - timedelta(days=8), guard_days=7)
