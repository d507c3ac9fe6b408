"""Referral events as OrderingStack records them: INVITED / INVITED_BY / FRIEND, with symmetry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import AccountEvent
from loyalty.services.accounts.events import EventError, record_relation_event, timeline
from tests.support.accounts import customer

WHEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def events_of(account) -> list[tuple[str, str | None]]:
    return [
        (e.type, e.related_external_id)
        for e in db.session.scalars(
            select(AccountEvent)
            .where(AccountEvent.account_id == account.id)
            .order_by(AccountEvent.id)
        )
    ]


@pytest.fixture()
def anna(tenant):
    return customer(tenant, external_id="anna")


@pytest.fixture()
def ben(tenant):
    return customer(tenant, external_id="ben")


@pytest.mark.parametrize(
    ("type", "mirror"), [("INVITED", "INVITED_BY"), ("INVITED_BY", "INVITED"), ("FRIEND", "FRIEND")]
)
def test_a_relation_is_written_on_both_sides(tenant, anna, ben, type, mirror):
    record_relation_event(tenant.id, anna.id, "ben", type, WHEN)
    assert events_of(anna) == [(type, "ben")]
    assert events_of(ben) == [(mirror, "anna")]


def test_do_not_process_symmetry_writes_one_side_only(tenant, anna, ben):
    record_relation_event(tenant.id, anna.id, "ben", "INVITED", WHEN, do_not_process_symmetry=True)
    assert events_of(anna) == [("INVITED", "ben")] and events_of(ben) == []


def test_unknown_relations_have_no_mirror(tenant, anna, ben):
    record_relation_event(tenant.id, anna.id, "ben", "UNKNOWN", WHEN)
    assert events_of(ben) == []


def test_recording_the_same_event_again_changes_nothing(tenant, anna, ben):
    first = record_relation_event(tenant.id, anna.id, "ben", "INVITED", WHEN)
    again = record_relation_event(tenant.id, anna.id, "ben", "INVITED", WHEN)
    assert first.id == again.id and len(events_of(ben)) == 1


def test_the_other_side_may_not_exist_yet(tenant, anna):
    event = record_relation_event(tenant.id, anna.id, "not-yet-joined", "INVITED", WHEN)
    assert event.related_account_id is None and event.related_external_id == "not-yet-joined"


def test_another_tenants_account_is_never_the_other_side(tenant, other_tenant, anna):
    stranger = customer(other_tenant, external_id="ben")
    record_relation_event(tenant.id, anna.id, "ben", "FRIEND", WHEN)
    assert events_of(stranger) == []


@pytest.mark.parametrize(
    ("other", "type", "message"),
    [("ben", "ENEMY", "type must be"), ("", "FRIEND", "1 to 64"), ("anna", "FRIEND", "itself")],
)
def test_bad_events_are_refused(tenant, anna, ben, other, type, message):
    with pytest.raises(EventError, match=message):
        record_relation_event(tenant.id, anna.id, other, type, WHEN)
    assert events_of(anna) == []


def test_the_timeline_is_newest_first_and_paginated(tenant, anna):
    for day in range(1, 26):
        record_relation_event(tenant.id, anna.id, f"friend-{day}", "FRIEND", WHEN.replace(day=day))
    first = timeline(tenant.id, anna.id, page=1, per_page=20)
    assert first.total == 25 and first.pages == 2
    assert first.items[0].related_external_id == "friend-25"
    assert [e.related_external_id for e in timeline(tenant.id, anna.id, page=2).items][
        -1
    ] == "friend-1"
