"""Campaign notifications run by the tick: a reminder before a coupon expires, in the day part
of the restaurant's time zone, and a message at a set time to every member, each sent once."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import OutboxMessage
from loyalty.services.campaigns.engine import redeem_at_till
from loyalty.services.campaigns.jobs import CampaignJobCounts, run_campaign_jobs
from tests.support.accounts import customer
from tests.support.campaigns import NOW, coupons_of, running, welcome_series

# welcome_series' coupon is valid 30 days from NOW: until 1 July 2026, 12:00 UTC.
EXPIRES = NOW + timedelta(days=30)


def reminder(days_before: int = 3, **fields) -> dict:
    return {
        "type": "COUPON_EXPIRATION",
        "title": "Your treat expires soon",
        "message": "Use it before it goes",
        "daysBefore": days_before,
        **fields,
    }


def broadcast(at: datetime) -> dict:
    return {
        "type": "SPECIFIC_TIME",
        "title": "Tonight only",
        "message": "Double points",
        "at": at.isoformat().replace("+00:00", "Z"),
    }


def messages(kind: str) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        )
    )


def in_brussels(tenant) -> None:
    tenant.time_zone = "Europe/Brussels"  # summer: UTC+2
    db.session.commit()


def test_a_coupon_is_reminded_of_once_in_the_morning_days_before_it_expires(tenant):
    in_brussels(tenant)
    jane = customer(tenant, external_id="jane", marketing_consent=True)
    running(tenant, welcome_series(notifications=[reminder(3, dayPart="MORNING")]))
    assert run_campaign_jobs(EXPIRES - timedelta(days=4)).expiry_reminders == 0
    # 28 June, 00:30 in Brussels: the reminder's day has come.
    counts = run_campaign_jobs(datetime(2026, 6, 27, 22, 30, tzinfo=UTC))
    assert counts.expiry_reminders == 1
    [message] = messages("coupon_expiry")
    assert message.account_id == jane.id and message.campaign_key == "welcome"
    assert message.title == "Your treat expires soon"
    assert message.next_attempt_at == datetime(2026, 6, 28, 7, 0, tzinfo=UTC)  # 9:00 local
    assert run_campaign_jobs(datetime(2026, 6, 28, 10, 0, tzinfo=UTC)).expiry_reminders == 0
    assert len(messages("coupon_expiry")) == 1


def test_the_day_parts_are_afternoon_and_evening_local_time(tenant):
    in_brussels(tenant)
    customer(tenant, external_id="jane", marketing_consent=True)
    parts = [reminder(2, dayPart="AFTERNOON"), reminder(1, dayPart="EVENING")]
    running(tenant, welcome_series(notifications=parts))
    # Just after midnight in Brussels on 29 and on 30 June.
    assert run_campaign_jobs(datetime(2026, 6, 28, 22, 30, tzinfo=UTC)).expiry_reminders == 1
    assert run_campaign_jobs(datetime(2026, 6, 29, 22, 30, tzinfo=UTC)).expiry_reminders == 1
    assert [m.next_attempt_at for m in messages("coupon_expiry")] == [
        datetime(2026, 6, 29, 12, 0, tzinfo=UTC),  # 14:00 local, two days before
        datetime(2026, 6, 30, 16, 0, tzinfo=UTC),  # 18:00 local, the day before
    ]


def test_a_reminder_caught_up_after_its_day_part_would_be_too_late_goes_at_once(tenant):
    customer(tenant, external_id="jane", marketing_consent=True)
    running(tenant, welcome_series(notifications=[reminder(1, dayPart="EVENING")]))
    late = EXPIRES - timedelta(hours=3)  # 09:00 UTC on the last day; 18:00 would be too late
    assert run_campaign_jobs(late).expiry_reminders == 1
    assert messages("coupon_expiry")[0].next_attempt_at == late


def test_without_a_day_part_the_reminder_goes_exactly_days_before(tenant):
    customer(tenant, external_id="jane", marketing_consent=True)
    running(tenant, welcome_series(notifications=[reminder(2)]))
    run_campaign_jobs(EXPIRES - timedelta(days=2, hours=6))
    [message] = messages("coupon_expiry")
    assert message.next_attempt_at == EXPIRES - timedelta(days=2)


def test_used_coupons_and_customers_without_consent_are_not_reminded(tenant):
    jane = customer(tenant, external_id="jane", marketing_consent=True)
    customer(tenant, external_id="joe", marketing_consent=False)
    customer(tenant, external_id="ann", marketing_consent=True)
    running(tenant, welcome_series(notifications=[reminder(3)]))
    [janes] = coupons_of(jane)
    redeem_at_till(tenant.id, janes.code, NOW, None)
    assert run_campaign_jobs(EXPIRES - timedelta(days=3)).expiry_reminders == 1
    assert [m.account.external_id for m in messages("coupon_expiry")] == ["ann"]


def test_a_specific_time_message_goes_once_to_every_member_with_consent(tenant):
    members = [customer(tenant, external_id=f"m{n}", marketing_consent=True) for n in range(3)]
    customer(tenant, external_id="no-consent", marketing_consent=False)
    at = NOW + timedelta(days=2)
    running(tenant, welcome_series(notifications=[broadcast(at)]))
    assert run_campaign_jobs(at - timedelta(minutes=1)).broadcasts == 0
    assert run_campaign_jobs(at).broadcasts == 3
    assert run_campaign_jobs(at + timedelta(hours=1)).broadcasts == 0
    sent = messages("specific_time")
    assert sorted(m.account_id for m in sent) == sorted(a.id for a in members)
    assert {(m.title, m.body, m.campaign_key) for m in sent} == {
        ("Tonight only", "Double points", "welcome")
    }


def test_a_specific_time_message_missed_for_more_than_a_day_is_not_sent(tenant):
    customer(tenant, external_id="jane", marketing_consent=True)
    at = NOW + timedelta(days=2)
    running(tenant, welcome_series(notifications=[broadcast(at)]))
    assert run_campaign_jobs(at + timedelta(days=1, minutes=1)).broadcasts == 0
    assert messages("specific_time") == []


def test_the_tick_summary_names_the_notification_counts():
    summary = CampaignJobCounts(expiry_reminders=2, broadcasts=5).summary()
    assert "expiry reminders 2" in summary and "broadcasts 5" in summary
