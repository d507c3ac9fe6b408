"""The stats operations: a campaign's all-time figures, its figures within a period given by
days on the restaurant's clock or by date-times, and the members by segment; their shapes (as
the document declares them), refusals (400 naming the parameter, 404) and roles."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from loyalty.api.schemas.stats import CampaignStats, GlobalCampaignStats, SegmentStats
from loyalty.rules.periods import day_start, local_day
from loyalty.services.campaigns.engine import acknowledge_message
from loyalty.services.campaigns.pushes import record_click, register_push
from loyalty.services.setup.settings import TenantSettings, update_settings
from loyalty.time import parse_iso, to_iso, utcnow
from tests.support.accounts import customer
from tests.support.api import bearer, customer_token, service_token, staff_token
from tests.support.campaigns import NOW, running, welcome_series

API = "/loyalty-api/api"
GLOBAL = API + "/stats/campaign/global"
PERIOD = API + "/stats/campaign"
SEGMENTS = API + "/stats/segments"
VIP_ONLY = [{"field": "tags.vip", "op": "EXISTS", "value": []}]


def greeting() -> dict:
    """For VIPs: a message to acknowledge, then a coupon."""
    return welcome_series(
        id="greeting",
        name="Greeting",
        constraints=VIP_ONLY,
        states=[
            {
                "id": "hello",
                "type": "MESSAGE",
                "title": "Hello",
                "message": "Welcome!",
                "transitionTo": "treat",
            },
            {
                "id": "treat",
                "type": "COUPON",
                "couponType": "AMOUNT",
                "value": 300,
                "validDays": 30,
                "title": "3.00 off",
            },
        ],
    )


@pytest.fixture()
def stats(client, tenant):
    return bearer(service_token(client, tenant, roles=("ROLE_LOYALTY_STATS",)), tenant)


@pytest.fixture()
def in_brussels(tenant):
    """The restaurant's clock is two hours ahead of UTC in June."""
    update_settings(
        tenant.id,
        TenantSettings(
            name=tenant.name,
            currency="EUR",
            decimal_digits=2,
            points_validity_days=None,
            time_zone="Europe/Brussels",
        ),
    )
    return tenant


@pytest.fixture()
def vips(tenant):
    return [
        customer(tenant, external_id=name, tags=["vip"], marketing_consent=True)
        for name in ("ann", "bob", "cy")
    ]


@pytest.fixture()
def greeted(tenant, vips):
    """The greeting running since NOW (12:00 UTC, 1 June); Ann moves on at 00:30 on 2 June
    Brussels time (22:30 UTC on 1 June)."""
    running(tenant, greeting())
    acknowledge_message(tenant.id, vips[0].id, "greeting", NOW + timedelta(hours=10, minutes=30))
    return vips


def figures(answer: dict) -> list[tuple[str, int, int, int]]:
    CampaignStats.model_validate(answer)
    return [(s["state"], s["entered"], s["left"], s["current"]) for s in answer["states"]]


# --- globalCampaignStats


def test_global_campaign_stats_are_the_campaigns_all_time_figures(client, tenant, stats, greeted):
    ann, bob, _cy = greeted
    register_push(tenant.id, "greeting", "spring", NOW + timedelta(hours=1))
    record_click(tenant.id, ann.id, "greeting", "spring", NOW + timedelta(hours=2))
    record_click(tenant.id, bob.id, "greeting", "spring", NOW + timedelta(hours=3))
    answer = client.get(GLOBAL + "?name=greeting", headers=stats)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    GlobalCampaignStats.model_validate(answer.get_json())
    assert answer.get_json() == {
        "campaign": "greeting",
        "name": "Greeting",
        "initialized": True,
        "cnt": 3,
        "stateStats": {"hello": 1},  # Ann finished hello
        "couponsIssued": 1,
        "couponsUsed": 0,
        "couponsExpired": 0,
        "pushes": {"sent": 1, "clicked": 2},
    }


# --- campaignStats


def test_days_are_the_restaurants_and_to_includes_its_day(client, in_brussels, stats, greeted):
    first = client.get(PERIOD + "?name=greeting&from=2026-06-01&to=2026-06-01", headers=stats)
    assert first.status_code == 200, first.get_data(as_text=True)
    answer = first.get_json()
    assert (answer["from"], answer["to"]) == ("2026-05-31T22:00:00Z", "2026-06-01T22:00:00Z")
    # Ann's move is at 00:30 on 2 June in Brussels: not on the 1st.
    assert figures(answer) == [("hello", 3, 0, 3), ("treat", 0, 0, 0)]
    assert answer["coupons"] == {"issued": 0, "used": 0, "expired": 0}
    assert answer["pushes"] == {"sent": 0, "clicked": 0}
    second = client.get(PERIOD + "?name=greeting&from=2026-06-02&to=2026-06-02", headers=stats)
    assert figures(second.get_json()) == [("hello", 0, 1, 2), ("treat", 1, 0, 1)]
    assert second.get_json()["coupons"] == {"issued": 1, "used": 0, "expired": 0}


def test_date_times_are_instants_and_to_is_excluded(client, in_brussels, stats, greeted):
    moved = "2026-06-01T22:30:00Z"  # Ann's move
    before = client.get(
        PERIOD + f"?name=greeting&from=2026-06-01T12:00:00Z&to={moved}", headers=stats
    )
    assert before.status_code == 200, before.get_data(as_text=True)
    assert figures(before.get_json()) == [("hello", 3, 0, 3), ("treat", 0, 0, 0)]
    # The same instant with an offset; `to` a day (included to its end in Brussels).
    since = client.get(
        PERIOD + "?name=greeting&from=2026-06-02T00:30:00%2B02:00&to=2026-06-02", headers=stats
    )
    assert since.get_json()["from"] == moved
    assert since.get_json()["to"] == "2026-06-02T22:00:00Z"
    assert figures(since.get_json()) == [("hello", 0, 1, 2), ("treat", 1, 0, 1)]


def test_without_from_and_to_the_period_is_the_last_30_days(client, stats, greeted):
    asked = utcnow()
    answer = client.get(PERIOD + "?name=greeting", headers=stats).get_json()
    start, end = parse_iso(answer["from"]), parse_iso(answer["to"])
    assert asked <= end <= utcnow()
    assert end - start == timedelta(days=30)
    only_to = client.get(PERIOD + "?name=greeting&to=2026-06-10", headers=stats).get_json()
    assert (only_to["from"], only_to["to"]) == ("2026-05-12T00:00:00Z", "2026-06-11T00:00:00Z")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-06-02&to=2026-06-01", "from"),
        ("from=2026-06-01T12:00:01Z&to=2026-06-01T12:00:00Z", "from"),
        ("from=2000-01-01&to=2026-06-01", "from"),
        ("from=yesterday", "from"),
        ("from=2026-06-01T12:00:00", "from"),  # no offset
        ("to=2026-13-01", "to"),
        ("to=9999-12-31", "to"),
        ("to=0001-01-05T00:00:00Z", "to"),
        ("to=9999-12-31T23:59:59Z", "to"),
        ("to=" + "9" * 65, "to"),
    ],
)
def test_a_bad_period_is_refused_naming_the_parameter(client, stats, greeted, query, field):
    for url in (PERIOD + "?name=greeting&" + query, SEGMENTS + "?" + query):
        refused = client.get(url, headers=stats)
        assert refused.status_code == 400, (url, refused.get_data(as_text=True))
        assert refused.get_json()["error"] == "invalid"
        assert refused.get_json()["field"] == field


def test_a_day_beyond_the_calendar_on_the_restaurants_clock_is_refused(
    client, in_brussels, stats, greeted
):
    # 1 January of year 1 starts in Brussels before UTC's first moment.
    for url in (PERIOD + "?name=greeting&", SEGMENTS + "?"):
        refused = client.get(url + "from=0001-01-01&to=2026-06-01", headers=stats)
        assert refused.status_code == 400, refused.get_data(as_text=True)
        assert refused.get_json()["field"] == "from"


def test_an_unknown_campaign_is_a_404_and_a_missing_name_a_400(client, stats, other_tenant):
    running(other_tenant, greeting())  # another restaurant's campaign of that id
    for url in (GLOBAL, PERIOD):
        missing = client.get(url + "?name=greeting", headers=stats)
        assert missing.status_code == 404
        assert missing.get_json()["error"] == "not_found"
        assert missing.get_json()["field"] == "name"
        unnamed = client.get(url, headers=stats)
        assert unnamed.status_code == 400
        assert unnamed.get_json()["field"] == "name"


def test_only_staff_with_a_stats_role_may_read_stats(client, tenant, owner, greeted):
    ann = customer(tenant, email="ann@example.com")
    urls = (GLOBAL + "?name=greeting", PERIOD + "?name=greeting", SEGMENTS)
    allowed = [
        bearer(service_token(client, tenant, roles=(role,)), tenant)
        for role in ("ROLE_SU", "ROLE_LOYALTY", "ROLE_LOYALTY_STATS")
    ] + [bearer(staff_token(client, tenant, owner.email), tenant)]
    refused = [
        bearer(service_token(client, tenant, roles=("ROLE_LOYALTY_CAMPAIGN",)), tenant),
        bearer(customer_token(client, tenant, ann), tenant),
    ]
    for url in urls:
        assert client.get(url, headers={"x-tenant": tenant.slug}).status_code == 401
        for headers in refused:
            assert client.get(url, headers=headers).status_code == 403
        for headers in allowed:
            answer = client.get(url, headers=headers)
            assert answer.status_code == 200, (url, answer.get_data(as_text=True))


# --- segmentStats


def test_segment_stats_count_the_members_at_the_end_of_the_period(client, tenant, stats):
    """Accounts join now: the last 30 days (the default) count them all as new members; a
    period before they joined counts none."""
    customer(
        tenant,
        sex="MALE",
        birthdate=date(1990, 3, 1),
        marketing_consent=True,
        tags=["vip", "lunch"],
    )
    customer(tenant, sex="FEMALE", birthdate=date(2010, 1, 1), tags=["vip"])
    customer(tenant)
    answer = client.get(SEGMENTS, headers=stats)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    SegmentStats.model_validate(answer.get_json())
    body = answer.get_json()
    today = local_day(utcnow(), "UTC")
    assert (body["from"], body["to"]) == (
        to_iso(day_start(today - timedelta(days=30), "UTC")),
        to_iso(day_start(today + timedelta(days=1), "UTC")),
    )
    assert {key: value for key, value in body.items() if key not in ("from", "to")} == {
        "total": 3,
        "newAccounts": 3,
        "bySex": {"MALE": 1, "FEMALE": 1, "OTHER": 0, "UNKNOWN": 1},
        "byAge": {
            "<18": 1,
            "18-24": 0,
            "25-34": 0,
            "35-44": 1,
            "45-54": 0,
            "55-64": 0,
            "65+": 0,
            "UNKNOWN": 1,
        },
        "withConsent": 1,
        "byTag": {"vip": 2, "lunch": 1},
    }
    before = client.get(SEGMENTS + "?from=2026-06-01&to=2026-06-30", headers=stats).get_json()
    assert (before["from"], before["to"]) == ("2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z")
    assert (before["total"], before["newAccounts"], before["withConsent"]) == (0, 0, 0)
    assert before["bySex"] == {"MALE": 0, "FEMALE": 0, "OTHER": 0, "UNKNOWN": 0}


def test_segment_stats_cover_the_local_days_their_instants_fall_on(client, in_brussels, stats):
    answer = client.get(
        SEGMENTS + "?from=2026-06-01T23:30:00Z&to=2026-06-03T12:00:00Z", headers=stats
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    # 23:30 UTC on 1 June is 01:30 on 2 June in Brussels: 2 and 3 June, whole.
    assert (answer.get_json()["from"], answer.get_json()["to"]) == (
        to_iso(datetime(2026, 6, 1, 22, tzinfo=UTC)),
        to_iso(datetime(2026, 6, 3, 22, tzinfo=UTC)),
    )
