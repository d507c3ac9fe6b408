"""The outbox: consent and idempotency when queueing; quiet hours, the daily limit and retries
when delivering, in the restaurant's own time zone."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from loyalty.extensions import db
from loyalty.models import OutboxMessage
from loyalty.rules.outbox_timing import BACKOFF, MAX_ATTEMPTS, retry_at
from loyalty.services.accounts.erasure import erase_account
from loyalty.services.accounts.profile import Profile, update_profile
from loyalty.services.notifications import outbox
from loyalty.services.notifications.outbox import (
    NO_CONSENT,
    RETIRED,
    CampaignSource,
    DeliveryCounts,
    deliver_due,
    enqueue,
)
from loyalty.services.notifications.senders import SendFailed
from loyalty.services.notifications.settings import SenderChoice, update_notification_settings
from loyalty.services.setup.tenants import create_tenant
from tests.support.accounts import customer

# 08:30 on a winter morning in Brussels (UTC+1): still quiet hours (21:00 to 09:00).
BRUSSELS_MORNING = datetime(2026, 12, 2, 7, 30, tzinfo=UTC)
# 14:00 in Brussels.
BRUSSELS_AFTERNOON = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)


class RecordingSender:
    """Stands in for the restaurant's sender: remembers what it sent, fails when told to."""

    def __init__(self):
        self.sent = []
        self.failures = 0

    def send(self, delivery):
        if self.failures:
            self.failures -= 1
            raise SendFailed("the webhook answered 503")
        self.sent.append(delivery)


@pytest.fixture()
def sender(monkeypatch):
    recording = RecordingSender()
    monkeypatch.setattr(outbox, "sender_for", lambda _settings: recording)
    return recording


@pytest.fixture()
def brussels(tenant):
    tenant.time_zone = "Europe/Brussels"
    db.session.commit()
    return tenant


@pytest.fixture()
def ann(tenant):
    return customer(tenant, email="ann@example.com", first_name="Ann", marketing_consent=True)


def queue(tenant, account, key="m1", kind="campaign_message", now=BRUSSELS_AFTERNOON, **extra):
    result = enqueue(
        tenant.id,
        account.id,
        kind,
        extra.pop("title", "Your treat is waiting"),
        "Come by this week for a free espresso.",
        {"coupon": "SUM-8KQ2"},
        key,
        extra.pop("campaign", None),
        now=now,
        **extra,
    )
    db.session.commit()
    return result


def status_of(result) -> tuple[str, int]:
    message = db.session.get(OutboxMessage, result.message.id)
    db.session.refresh(message)
    return message.status, message.attempts


def test_a_campaign_message_is_not_queued_without_marketing_consent(tenant):
    bob = customer(tenant, email="bob@example.com", marketing_consent=False)
    result = queue(tenant, bob)
    assert (result.message, result.refused) == (None, NO_CONSENT)
    assert db.session.query(OutboxMessage).count() == 0


def test_a_one_time_code_goes_to_a_customer_without_marketing_consent(tenant):
    bob = customer(tenant, email="bob@example.com", marketing_consent=False)
    result = queue(tenant, bob, kind="one_time_code", title="Your code: 482913")
    assert result.created and result.refused is None


def test_the_same_key_queues_one_message(tenant, ann):
    first = queue(tenant, ann, campaign=CampaignSource("summer_2024", None))
    again = queue(tenant, ann, title="A different title")
    assert first.created and not again.created
    assert again.message.id == first.message.id
    assert again.message.title == "Your treat is waiting"
    assert again.message.campaign_key == "summer_2024"
    assert db.session.query(OutboxMessage).count() == 1


def test_the_same_key_in_another_restaurant_is_another_message(tenant, other_tenant, ann):
    other = customer(other_tenant, email="ann@example.com", marketing_consent=True)
    assert queue(tenant, ann).created
    assert queue(other_tenant, other).created


def test_nothing_is_queued_for_an_erased_account(tenant, ann, owner):
    erase_account(tenant.id, ann.id, owner.id)
    assert queue(tenant, ann).refused == RETIRED


def test_enqueue_leaves_the_transaction_to_the_caller(tenant, ann):
    enqueue(tenant.id, ann.id, "campaign_message", "Hi", "", None, "k", now=BRUSSELS_AFTERNOON)
    db.session.rollback()
    assert db.session.query(OutboxMessage).count() == 0


def test_quiet_hours_hold_a_message_until_nine_in_brussels_then_send_it(brussels, ann, sender):
    late_evening = datetime(2026, 12, 1, 21, 30, tzinfo=UTC)  # 22:30 in Brussels
    result = queue(brussels, ann, now=late_evening)
    counts = deliver_due(late_evening)
    assert (counts.held, counts.sent) == (1, 0)
    assert status_of(result) == ("held", 0)
    assert result.message.next_attempt_at == datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # 09:00

    assert deliver_due(BRUSSELS_MORNING).sent == 0  # 08:30 there: not due yet
    nine = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    assert deliver_due(nine).sent == 1
    assert status_of(result) == ("sent", 1)
    assert [d.title for d in sender.sent] == ["Your treat is waiting"]


def test_quiet_hours_follow_summer_time(brussels, ann, sender):
    # In July Brussels is UTC+2: 06:30 UTC is 08:30 there, quiet until 09:00 = 07:00 UTC.
    july_early = datetime(2026, 7, 1, 6, 30, tzinfo=UTC)
    result = queue(brussels, ann, now=july_early)
    deliver_due(july_early)
    assert result.message.next_attempt_at == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)


def test_a_one_time_code_goes_during_quiet_hours(brussels, ann, sender):
    queue(brussels, ann, kind="one_time_code", now=BRUSSELS_MORNING)
    assert deliver_due(BRUSSELS_MORNING).sent == 1


def test_the_restaurant_can_turn_quiet_hours_off(brussels, ann, sender):
    update_notification_settings(
        brussels.id, SenderChoice("log", quiet_hours_start=0, quiet_hours_end=0)
    )
    queue(brussels, ann, now=BRUSSELS_MORNING)
    assert deliver_due(BRUSSELS_MORNING).sent == 1


def test_one_campaign_message_a_day_the_second_waits_for_the_next_morning(brussels, ann, sender):
    first = queue(brussels, ann, key="m1")
    second = queue(brussels, ann, key="m2", title="Another treat")
    counts = deliver_due(BRUSSELS_AFTERNOON)
    assert (counts.sent, counts.held) == (1, 1)
    assert status_of(first) == ("sent", 1)
    assert status_of(second) == ("held", 0)
    # Midnight in Brussels is in quiet hours: it goes at 09:00 the next day.
    assert second.message.next_attempt_at == datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    assert deliver_due(datetime(2026, 12, 3, 8, 0, tzinfo=UTC)).sent == 1
    assert [d.title for d in sender.sent] == ["Your treat is waiting", "Another treat"]


def test_the_daily_limit_counts_the_local_day_not_the_utc_one(brussels, ann, sender):
    update_notification_settings(
        brussels.id, SenderChoice("log", quiet_hours_start=0, quiet_hours_end=0)
    )
    # 22:30 and 23:30 UTC are both on the 1st in UTC, but 23:30 on the 1st and 00:30 on the
    # 2nd in Brussels: the second message is on a new day there.
    queue(brussels, ann, key="m1", now=datetime(2026, 12, 1, 22, 30, tzinfo=UTC))
    assert deliver_due(datetime(2026, 12, 1, 22, 30, tzinfo=UTC)).sent == 1
    queue(brussels, ann, key="m2", now=datetime(2026, 12, 1, 23, 30, tzinfo=UTC))
    assert deliver_due(datetime(2026, 12, 1, 23, 30, tzinfo=UTC)).sent == 1


def test_other_kinds_do_not_count_towards_the_daily_limit(brussels, ann, sender):
    queue(brussels, ann, key="code", kind="one_time_code")
    queue(brussels, ann, key="m1")
    assert deliver_due(BRUSSELS_AFTERNOON).sent == 2


def test_a_higher_daily_limit_lets_more_through(brussels, ann, sender):
    update_notification_settings(brussels.id, SenderChoice("log", daily_campaign_limit=2))
    for key in ("m1", "m2", "m3"):
        queue(brussels, ann, key=key)
    counts = deliver_due(BRUSSELS_AFTERNOON)
    assert (counts.sent, counts.held) == (2, 1)


def test_no_daily_limit_when_the_team_sets_none(brussels, ann, sender):
    update_notification_settings(brussels.id, SenderChoice("log", daily_campaign_limit=None))
    for key in ("m1", "m2", "m3"):
        queue(brussels, ann, key=key)
    assert deliver_due(BRUSSELS_AFTERNOON).sent == 3


def test_the_back_off_schedule():
    failed_at = BRUSSELS_AFTERNOON
    waits = [retry_at(attempt, failed_at) - failed_at for attempt in range(1, MAX_ATTEMPTS)]
    minutes = [wait / timedelta(minutes=1) for wait in waits]
    assert minutes == [1, 5, 30, 120, 720]
    assert retry_at(MAX_ATTEMPTS, failed_at) is None


def test_failures_retry_with_back_off_then_the_message_fails(tenant, ann, sender):
    result = queue(tenant, ann, kind="one_time_code")
    sender.failures = MAX_ATTEMPTS
    now = BRUSSELS_AFTERNOON
    for attempt, wait in enumerate(BACKOFF, start=1):
        counts = deliver_due(now)
        assert counts.retried == 1
        message = db.session.get(OutboxMessage, result.message.id)
        db.session.refresh(message)
        assert (message.status, message.attempts) == ("queued", attempt)
        assert message.next_attempt_at == now + wait
        assert message.last_error == "the webhook answered 503"
        assert deliver_due(now + wait - timedelta(seconds=1)).retried == 0  # not before
        now += wait
    assert deliver_due(now).failed == 1
    assert status_of(result) == ("failed", MAX_ATTEMPTS)
    assert deliver_due(now + timedelta(days=1)).failed == 0  # failed for good
    assert sender.sent == []


def test_a_retry_that_succeeds_is_sent(tenant, ann, sender):
    result = queue(tenant, ann, kind="one_time_code")
    sender.failures = 1
    assert deliver_due(BRUSSELS_AFTERNOON).retried == 1
    assert deliver_due(BRUSSELS_AFTERNOON + BACKOFF[0]).sent == 1
    message = db.session.get(OutboxMessage, result.message.id)
    db.session.refresh(message)
    assert (message.status, message.attempts, message.last_error) == ("sent", 2, None)


def test_a_sender_that_crashes_does_not_stop_the_others_or_the_caller(tenant, ann, monkeypatch):
    class Broken:
        def send(self, delivery):
            if delivery.title == "boom":
                raise RuntimeError("secret-password-in-a-message")

    monkeypatch.setattr(outbox, "sender_for", lambda _settings: Broken())
    crashed = queue(tenant, ann, key="a", kind="one_time_code", title="boom")
    queue(tenant, ann, key="b", kind="one_time_code", title="fine")
    counts = deliver_due(BRUSSELS_AFTERNOON)
    assert (counts.sent, counts.retried) == (1, 1)
    message = db.session.get(OutboxMessage, crashed.message.id)
    assert message.last_error == "unexpected error (RuntimeError)"


def test_a_message_queued_before_consent_was_withdrawn_is_not_sent(tenant, ann, sender):
    result = queue(tenant, ann)
    update_profile(tenant.id, ann.id, Profile(email=ann.email, marketing_consent=False))
    assert deliver_due(BRUSSELS_AFTERNOON).failed == 1
    assert status_of(result) == ("failed", 0)
    assert db.session.get(OutboxMessage, result.message.id).last_error == NO_CONSENT
    assert sender.sent == []


def test_not_before_delays_the_first_attempt(tenant, ann, sender):
    later = BRUSSELS_AFTERNOON + timedelta(hours=2)
    queue(tenant, ann, kind="one_time_code", not_before=later)
    assert deliver_due(BRUSSELS_AFTERNOON).sent == 0
    assert deliver_due(later).sent == 1


def test_the_sender_gets_the_account_its_address_and_the_payload(tenant, ann, sender):
    queue(tenant, ann, kind="one_time_code")
    deliver_due(BRUSSELS_AFTERNOON)
    (delivery,) = sender.sent
    assert (delivery.tenant_slug, delivery.account, delivery.email) == (
        "trattoria",
        ann.external_id,
        "ann@example.com",
    )
    assert (delivery.kind, delivery.payload, delivery.message_key) == (
        "one_time_code",
        {"coupon": "SUM-8KQ2"},
        "m1",
    )


def test_tick_delivers_due_messages_and_prints_the_counts(tenant, ann, runner):
    queue(tenant, ann, kind="one_time_code")
    result = runner.invoke(args=["loyalty", "tick", "--now", "2026-12-02T13:00:00Z"])
    assert result.exit_code == 0, result.output
    assert "notifications: 1 sent, 0 held for later, 0 to retry, 0 failed" in result.output


@pytest.mark.postgres
def test_two_delivery_runs_at_once_send_each_message_once(pg_app, monkeypatch):
    """Two hosts ticking at the same moment: every message goes once, and the daily limit holds
    across them (one campaign message per account, whichever host sends it)."""
    tenant, _credentials = create_tenant("trattoria", "Trattoria Roma")
    sent, lock = [], threading.Lock()

    class SlowSender:
        def send(self, delivery):
            time.sleep(0.01)  # long enough for the other run to look at the same rows
            with lock:
                sent.append(delivery.account)

    monkeypatch.setattr(outbox, "sender_for", lambda _settings: SlowSender())
    accounts = [
        customer(tenant, email=f"guest{n}@example.com", marketing_consent=True) for n in range(10)
    ]
    for n in range(3):  # interleaved, so both runs get messages of the same accounts
        for account in accounts:
            queue(tenant, account, key=f"{account.id}:{n}")
    barrier = threading.Barrier(2)
    results = []

    def run():
        with pg_app.app_context():
            barrier.wait()
            try:
                while True:  # small batches until nothing is due, as repeated ticks would
                    counts = deliver_due(BRUSSELS_AFTERNOON, limit=4)
                    results.append(counts)
                    if counts == DeliveryCounts():
                        return
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(counts.sent for counts in results) == 10
    assert sum(counts.held for counts in results) == 20
    assert sorted(sent) == sorted(account.external_id for account in accounts)


def test_a_delivery_run_that_breaks_raises_nothing_and_leaves_the_messages_due(
    tenant, ann, sender, monkeypatch
):
    result = queue(tenant, ann)

    def broken(_name):
        raise RuntimeError("the time zone database is missing")

    with monkeypatch.context() as patch:
        patch.setattr(outbox, "zone", broken)
        assert deliver_due(BRUSSELS_AFTERNOON) == DeliveryCounts()
    assert status_of(result) == ("queued", 0)
    assert deliver_due(BRUSSELS_AFTERNOON).sent == 1
