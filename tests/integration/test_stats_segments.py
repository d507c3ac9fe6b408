"""Segment stats: members per saved segment and built-in breakdown, at a period's edges."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from loyalty.extensions import db
from loyalty.rules.periods import Period
from loyalty.services.accounts.erasure import erase_account
from loyalty.services.accounts.merge import merge_accounts
from loyalty.services.accounts.search import SearchCriteria
from loyalty.services.accounts.segments import save_segment
from loyalty.services.checkout.orders import (
    CancelReport,
    OrderReport,
    cancel_order,
    record_order,
)
from loyalty.services.reporting import rollups
from loyalty.services.reporting.segment_stats import GroupCount, segment_stats
from loyalty.services.setup.tiers import TierDetails, create_tier
from tests.support.accounts import customer, earn

ZONE = "Asia/Tokyo"  # UTC+9 all year: March here starts at 15:00 UTC on 28 February
MARCH = Period(date(2026, 3, 1), date(2026, 3, 31), ZONE)  # the period before: 29 Jan - 28 Feb
NOW = datetime(2026, 4, 10, tzinfo=UTC)


def local(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ZoneInfo(ZONE)).astimezone(UTC)


def joined(tenant, moment: datetime, name: str, **profile):
    """A customer created through the service, placed at the moment it joined (accounts take
    the real clock's time when created)."""
    account = customer(tenant, external_id=name, **profile)
    account.created_at = moment
    db.session.commit()
    return account


def ordered(tenant, account, number: str, moment: datetime, location: str | None) -> None:
    # Nothing paid: the orders earn no points, so lifetime points (tiers) stay as set here.
    report = OrderReport(
        number, account.id if account else None, location_id=location, ordered_at=moment
    )
    record_order(tenant, report, moment)


@pytest.fixture()
def members(tenant, other_tenant, owner):
    tenant.time_zone = ZONE
    db.session.commit()
    for name, threshold in (("Bronze", 0), ("Silver", 100), ("Gold", 500)):
        create_tier(tenant.id, TierDetails(name, threshold))
    ada = joined(
        tenant, local(1, 10), "ada", sex="FEMALE", birthdate=date(1990, 5, 1),
        marketing_consent=True, tags=["vip"],
    )  # fmt: skip
    earn(ada, 600)
    # Bob joins at the first moment of March: new in it, not a member at its start. He turns 18
    # on its last day.
    bob = joined(
        tenant,
        local(3, 1, 0),
        "bob",
        sex="MALE",
        birthdate=date(2008, 3, 31),
        tags=["vip", "lunch"],
    )
    earn(bob, 150)
    # Cy joins a minute before March and is 17 on its last day.
    cy = joined(tenant, local(2, 28, 23, 59), "cy", birthdate=date(2008, 4, 1))
    # Dee joins in March's last minute; Eli at the first moment of April: after the period.
    dee = joined(tenant, local(3, 31, 23, 59), "dee", sex="OTHER", marketing_consent=True)
    joined(tenant, local(4, 1, 0), "eli", sex="MALE")
    # Fay is merged into Ada in March: a member at the start only (her tag goes to Ada).
    fay = joined(
        tenant, local(1, 5), "fay", sex="FEMALE", birthdate=date(1960, 1, 1),
        marketing_consent=True, tags=["lunch"],
    )  # fmt: skip
    merge_accounts(tenant.id, ada.id, fay.id, owner.id, now=local(3, 15))
    # Gus is erased before March (counted nowhere), Hal during it (a member at the start).
    gus = joined(tenant, local(1, 20), "gus", sex="MALE")
    erase_account(tenant.id, gus.id, owner.id, now=local(2, 20))
    hal = joined(tenant, local(2, 1), "hal", sex="MALE", marketing_consent=True, tags=["lunch"])
    erase_account(tenant.id, hal.id, owner.id, now=local(3, 20))
    # Jo is merged into Ada at the period's end: still a member at it.
    jo = joined(tenant, local(2, 15), "jo")
    merge_accounts(tenant.id, ada.id, jo.id, owner.id, now=local(4, 1, 0))
    # Ivy joins on the last day and is merged into Bob after it: a member at its end.
    ivy = joined(tenant, local(3, 31), "ivy", sex="FEMALE")
    merge_accounts(tenant.id, bob.id, ivy.id, owner.id, now=local(4, 5))
    # Orders: at the period's first moment and its last minute count, its end does not.
    ordered(tenant, ada, "a-1", local(3, 1, 0), "loc-a")
    ordered(tenant, ada, "a-0", local(2, 28, 23, 59), "loc-a")  # the period before
    ordered(tenant, ada, "a-old", local(1, 28), "loc-b")  # before the period before
    ordered(tenant, bob, "b-1", local(3, 10), "loc-a")
    ordered(tenant, bob, "b-2", local(3, 12), "loc-a")
    ordered(tenant, bob, "b-3", local(3, 31, 23, 59), "loc-b")
    ordered(tenant, cy, "c-0", local(2, 10), "loc-b")  # the period before
    ordered(tenant, cy, "c-late", local(4, 1, 0), "loc-b")  # after the period
    ordered(tenant, cy, "c-gone", local(3, 5), "loc-c")
    cancel_order(tenant.id, CancelReport("c-gone", cy.id), local(3, 5, 13))
    ordered(tenant, None, "guest", local(3, 6), "loc-c")
    ordered(tenant, dee, "d-1", local(3, 20), None)
    save_segment(tenant.id, "VIPs", SearchCriteria(tag="vip"), owner.id)
    save_segment(tenant.id, "Consented", SearchCriteria(consent="yes"), owner.id)
    # Another restaurant's member, who would count everywhere if tenants mixed.
    joined(other_tenant, local(3, 2), "zed", sex="MALE", tags=["vip"], marketing_consent=True)
    return tenant


def groups(stats, key: str) -> list[tuple[str, str, int, int, int]]:
    return [
        (g.group, g.label, g.members, g.new_members, g.change) for g in stats.breakdown(key).groups
    ]


def test_members_and_new_members_at_the_period_edges(members):
    stats = segment_stats(members.id, MARCH, NOW)

    # Ada, Bob, Cy, Dee, Ivy, Jo; new: Bob, Dee, Ivy. At the start: Ada, Cy, Fay, Hal, Jo.
    assert (stats.total, stats.new_members) == (6, 3)
    assert stats.period == MARCH
    assert [b.key for b in stats.breakdowns] == [
        "segment", "tier", "age", "sex", "consent", "tag", "venue"
    ]  # fmt: skip


def test_sex_consent_and_age_band_as_the_accounts_are_now(members):
    stats = segment_stats(members.id, MARCH, NOW)

    assert groups(stats, "sex") == [
        ("MALE", "Male", 1, 1, 1),  # Bob
        ("FEMALE", "Female", 2, 1, 0),  # Ada, Ivy; at the start Ada, Fay
        ("OTHER", "Other", 1, 1, 1),  # Dee
        ("UNKNOWN", "Unknown", 2, 0, -1),  # Cy, Jo; at the start also Hal (erased: no sex now)
    ]
    assert groups(stats, "consent") == [
        ("consented", "Consented to marketing", 2, 1, 0),  # Ada, Dee; at the start Ada, Fay
        ("not_consented", "No marketing consent", 4, 2, 1),  # Bob, Cy, Ivy, Jo; Cy, Hal, Jo
    ]
    assert groups(stats, "age") == [
        ("<18", "Under 18", 1, 0, 0),  # Cy, 17 on 31 March
        ("18-24", "18-24", 1, 1, 1),  # Bob, 18 on 31 March
        ("25-34", "25-34", 0, 0, 0),
        ("35-44", "35-44", 1, 0, 0),  # Ada
        ("45-54", "45-54", 0, 0, 0),
        ("55-64", "55-64", 0, 0, 0),
        ("65+", "65 and over", 0, 0, -1),  # Fay, merged
        ("UNKNOWN", "Unknown", 3, 2, 1),  # Dee, Ivy, Jo; at the start Hal, Jo
    ]


def test_tiers_by_lifetime_points_now(members):
    stats = segment_stats(members.id, MARCH, NOW)

    assert groups(stats, "tier") == [
        ("Bronze", "Bronze", 4, 2, 0),  # Cy, Dee, Ivy, Jo; at the start Cy, Fay, Hal, Jo
        ("Silver", "Silver", 1, 1, 1),  # Bob, 150
        ("Gold", "Gold", 1, 0, 0),  # Ada, 600
    ]


def test_tags_venues_and_saved_segments(members):
    stats = segment_stats(members.id, MARCH, NOW)

    # Ada has Fay's "lunch" since the merge; Hal's went when he was erased.
    assert groups(stats, "tag") == [("lunch", "lunch", 2, 1, 1), ("vip", "vip", 2, 1, 1)]
    # Distinct members who ordered there in March against those of the 31 days before.
    assert groups(stats, "venue") == [
        ("loc-a", "loc-a", 2, 1, 1),  # Ada and Bob (twice); Ada before
        ("", "No location", 1, 1, 1),  # Dee
        ("loc-b", "loc-b", 1, 1, 0),  # Bob at 23:59 on 31 March; Cy before
    ]
    consented, vips = stats.breakdown("segment").groups  # by name
    assert (vips.label, vips.members, vips.new_members, vips.change) == ("VIPs", 2, 1, 1)
    # Fay still has her consent and counts at the start, merged later as she was.
    assert (consented.label, consented.members, consented.new_members, consented.change) == (
        "Consented", 2, 1, 0,
    )  # fmt: skip
    assert vips.group != consented.group


def test_without_tiers_everyone_is_in_no_tier(tenant):
    joined(tenant, local(1, 10), "ada")
    joined(tenant, local(3, 2), "bob")

    stats = segment_stats(tenant.id, Period(date(2026, 3, 1), date(2026, 3, 31), "UTC"), NOW)

    assert stats.breakdown("tier").groups == (GroupCount("none", "No tier", 2, 1, 1),)
    assert stats.breakdown("segment").groups == ()
    assert stats.breakdown("tag").groups == () and stats.breakdown("venue").groups == ()
    with pytest.raises(KeyError):
        stats.breakdown("planet")


def test_a_period_still_running_counts_members_now(members):
    stats = segment_stats(members.id, MARCH, local(3, 20, 13))

    # Dee and Ivy have not joined yet; Hal was erased an hour ago; Fay merged on the 15th.
    assert (stats.total, stats.new_members) == (4, 1)  # Ada, Bob, Cy, Jo; new: Bob


def test_venues_read_from_the_rollups_equal_the_live_read(members):
    periods = [
        (MARCH, NOW),
        (Period(date(2026, 2, 1), date(2026, 4, 9), ZONE), NOW),
        (MARCH, local(3, 20, 13)),  # still running: up to now
    ]
    live = [segment_stats(members.id, period, now) for period, now in periods]

    rollups.rebuild(members.id, NOW)

    assert [segment_stats(members.id, period, now) for period, now in periods] == live
    # Built up to March's 20th only: the rest of March is read live from the cut.
    rollups.rebuild(members.id, local(3, 20, 13))
    assert segment_stats(members.id, MARCH, local(3, 20, 13)) == live[2]
