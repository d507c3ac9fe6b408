"""The Stats pages and their CSVs: the range, the numbers, htmx answers, who may see them."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from loyalty.extensions import db
from loyalty.models import utcnow
from loyalty.services.accounts.search import SearchCriteria
from loyalty.services.accounts.segments import save_segment
from loyalty.services.campaigns.lifecycle import initialise_campaign
from loyalty.services.campaigns.store import save_campaign
from loyalty.services.checkout.orders import OrderReport, record_order
from tests.support.accounts import customer
from tests.support.deliverect import add_reward

OVERVIEW_HEADER = (
    "bucket,members,new_members,active_members,orders,member_orders,points_earned,"
    "points_redeemed,points_expired,liability_points,member_sales,guest_sales"
)
CAMPAIGN = {
    "id": "vip-treat",
    "type": "STANDARD",
    "name": "VIP treat",
    "constraints": [{"field": "tags.vip", "op": "EXISTS", "value": []}],
    "states": [
        {
            "id": "treat",
            "type": "COUPON",
            "couponType": "AMOUNT",
            "value": 250,
            "validDays": 14,
            "title": "2.50 off",
        }
    ],
}
PAGES = ("/stats/", "/stats/cohorts", "/stats/campaigns", "/stats/segments")
RANGED_CSVS = (
    "/stats/overview.csv",
    "/stats/rewards.csv",
    "/stats/coupons.csv",
    "/stats/segments.csv",
)
# Cohorts and campaigns do not depend on the range: they ignore it.
CSVS = (*RANGED_CSVS, "/stats/cohorts.csv", "/stats/campaigns.csv")


def ordered(
    tenant, account, number: str, days_ago: int, amount: int, location="LOC-1", rewards=()
) -> None:
    moment = utcnow() - timedelta(days=days_ago)
    report = OrderReport(
        number,
        account.id if account else None,
        payment_amount=amount,
        ordered_at=moment,
        location_id=location,
        program_ids=tuple(rewards),
    )
    record_order(tenant, report, moment)


@pytest.fixture()
def history(tenant, other_tenant):
    """Ana (a member for 70 days) ordered 2 and 45 days ago; a guest 3 days ago. The other
    restaurant has five guest orders and a location of its own, which must never show."""
    ana = customer(tenant, external_id="ana", first_name="Ana", tags=["vip"])
    ana.created_at = utcnow() - timedelta(days=70)
    db.session.commit()
    ordered(tenant, ana, "ana-recent", 2, 1500)
    ordered(tenant, ana, "ana-old", 45, 2500)
    ordered(tenant, None, "guest-1", 3, 1000)
    for number in range(5):
        ordered(other_tenant, None, f"theirs-{number}", 1, 9999, location="THEIR-LOC")
    return ana


def text(response) -> str:
    return response.get_data(as_text=True)


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text(response).lstrip("\ufeff"))))


def test_overview_shows_the_last_30_days_by_default(owner_client, history):
    page = text(owner_client.get("/stats/"))
    assert 'data-figure="orders">2<' in page  # Ana's recent order and the guest's
    assert 'data-figure="member_orders">1<' in page
    assert 'data-figure="members">1<' in page
    assert 'data-figure="new_members">0<' in page
    assert 'data-figure="member_order_share">50.0%<' in page
    assert 'data-figure="member_average_order">15.00 EUR<' in page
    assert 'data-figure="guest_average_order">10.00 EUR<' in page
    assert '<option value="30d" selected>' in page
    assert page.count('data-chart="') >= 6  # every chart drawn from its table
    assert "selection bias" in page
    assert 'href="/stats/overview.csv?range=30d"' in page


def test_a_longer_range_counts_more_and_compares_with_the_period_before(owner_client, history):
    page = text(owner_client.get("/stats/?range=90d"))
    assert 'data-figure="orders">3<' in page
    assert 'data-figure="new_members">1<' in page  # Ana joined 70 days ago
    assert '<option value="90d" selected>' in page
    # The 30 days: 2 orders against 1 (Ana's, 45 days ago) in the 30 before: up 100%.
    thirty = text(owner_client.get("/stats/?range=30d"))
    orders_tile = thirty.split('data-figure="orders"')[1].split("</div>")[0]
    assert "▲" in orders_tile and "100%" in orders_tile and "(previous period: 1)" in orders_tile


def test_a_location_narrows_the_orders_and_says_what_it_does_not_narrow(
    owner_client, tenant, history
):
    ordered(tenant, None, "guest-2", 1, 700, location="LOC-2")
    page = text(owner_client.get("/stats/?range=30d&location=LOC-2"))
    assert 'data-figure="orders">1<' in page
    assert '<option value="LOC-2" selected>' in page
    assert '<option value="LOC-1">' in page
    assert "expiry and liability are for all locations" in page


def test_overview_csv_has_a_row_per_bucket(owner_client, history):
    response = owner_client.get("/stats/overview.csv?range=30d")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = csv_rows(response)
    assert ",".join(rows[0]) == OVERVIEW_HEADER
    assert len(rows) == 1 + 30  # one bucket a day
    orders = rows[0].index("orders")
    assert sum(int(row[orders]) for row in rows[1:]) == 2
    assert sum(int(row[rows[0].index("guest_sales")]) for row in rows[1:]) == 1000
    assert rows[-1][0] == max(row[0] for row in rows[1:])  # ISO dates, oldest first


@pytest.mark.parametrize("path", CSVS)
def test_every_csv_downloads_with_its_header(owner_client, history, path):
    response = owner_client.get(path + "?range=90d")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert csv_rows(response)[0]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("range=fortnight", "range-preset", "choose one of"),
        ("range=custom&from=2026-13-01&to=2026-12-31", "range-from", "YYYY-MM-DD"),
        ("range=custom&from=2026-02-01&to=2026-01-01", "range-to", "the last day is before"),
        ("range=custom&from=2000-01-01&to=2026-01-01", "range-from", "at most"),
    ],
)
def test_a_bad_range_is_a_form_error_on_the_page_and_400_for_a_csv(
    owner_client, history, query, field, message
):
    for path in ("/stats/", "/stats/segments"):
        response = owner_client.get(f"{path}?{query}")
        assert response.status_code == 200
        page = text(response)
        assert f'id="{field}-error"' in page and message in page
        assert 'data-figure="orders"' not in page
    for path in RANGED_CSVS:
        assert owner_client.get(f"{path}?{query}").status_code == 400
    for path in ("/stats/cohorts.csv", "/stats/campaigns.csv"):
        ignored = owner_client.get(f"{path}?{query}")
        assert ignored.status_code == 200
        assert "-20" not in ignored.headers["Content-Disposition"]  # no days in its name


def test_htmx_gets_only_the_body_with_vary_and_the_address_to_push(owner_client, history):
    response = owner_client.get(
        "/stats/?range=90d&from=&to=&location=", headers={"HX-Request": "true"}
    )
    page = text(response)
    assert "<html" not in page and 'id="range-preset"' in page
    assert 'data-figure="orders">3<' in page
    assert "HX-Request" in response.headers["Vary"]
    assert response.headers["HX-Push-Url"] == "/stats/?range=90d"
    whole = owner_client.get("/stats/?range=90d")
    assert "<html" in text(whole) and "HX-Request" in whole.headers["Vary"]


def test_the_form_without_javascript_lands_on_the_clean_address(owner_client, history):
    response = owner_client.get("/stats/?range=7d&from=2026-01-01&to=&location=")
    assert response.status_code == 302
    assert response.headers["Location"] == "/stats/?range=7d"
    custom = owner_client.get("/stats/?range=custom&from=2026-01-01&to=2026-01-31&location=")
    assert custom.headers["Location"] == "/stats/?range=custom&from=2026-01-01&to=2026-01-31"


def test_tabs_keep_the_range(owner_client, history):
    page = text(owner_client.get("/stats/?range=90d&location=LOC-1"))
    for path in PAGES:
        assert f'href="{path}?range=90d&amp;location=LOC-1"' in page


def test_cohorts_page_shows_the_triangle_and_its_csv(owner_client, history):
    page = text(owner_client.get("/stats/cohorts"))
    joined = (utcnow() - timedelta(days=70)).strftime("%Y-%m")
    row = page.split(f'<th scope="row">{joined}</th>')[1].split("</tr>")[0]
    assert '<td class="num">1</td>' in row  # Ana, the month's only member
    assert "band-" in row and "Month 0" in page
    rows = csv_rows(owner_client.get("/stats/cohorts.csv"))
    assert rows[0][:3] == ["month", "members", "active_month_0"]
    assert [f"{joined}-01", "1"] in [row[:2] for row in rows]


def test_campaigns_page_puts_every_campaign_side_by_side(owner_client, tenant, history):
    save_campaign(tenant.id, CAMPAIGN, utcnow())
    initialise_campaign(tenant.id, "vip-treat", utcnow())
    page = text(owner_client.get("/stats/campaigns"))
    assert '<a href="/campaigns/vip-treat">VIP treat</a>' in page
    assert 'data-chart="bar"' in page
    rows = csv_rows(owner_client.get("/stats/campaigns.csv"))
    assert rows[0][:4] == ["campaign", "name", "type", "status"]
    assert rows[1][:4] == ["vip-treat", "VIP treat", "STANDARD", "running"]
    assert rows[1][5] == "1"  # Ana, the one VIP, got its coupon


def test_segments_page_has_each_breakdown_and_saved_segments(owner_client, tenant, history):
    save_segment(tenant.id, "Anas", SearchCriteria(q="ana"), None)
    page = text(owner_client.get("/stats/segments?range=90d"))
    assert 'data-figure="members">1<' in page
    assert 'data-figure="new_members">1<' in page
    assert ">Anas</a>" in page
    assert page.count('class="card stats-section"') >= 6
    rows = csv_rows(owner_client.get("/stats/segments.csv?range=90d"))
    assert rows[0] == ["breakdown", "group", "label", "members", "new_members", "change"]
    assert ["segment", "Anas"] in [[row[0], row[2]] for row in rows]


@pytest.mark.parametrize("path", PAGES)
def test_staff_see_the_stats_too(staff_client, history, path):
    assert staff_client.get(path).status_code == 200


@pytest.mark.parametrize("path", PAGES + CSVS)
def test_signed_out_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_another_restaurants_numbers_never_show(owner_client, history):
    page = text(owner_client.get("/stats/?range=90d"))
    assert "THEIR-LOC" not in page
    assert "99.99" not in page
    rows = csv_rows(owner_client.get("/stats/overview.csv?range=90d"))
    assert sum(int(row[rows[0].index("orders")]) for row in rows[1:]) == 3


def test_the_navigation_leads_to_stats_after_home(staff_client):
    nav = text(staff_client.get("/")).split("</nav>")[0]
    assert nav.index('href="/"') < nav.index('href="/stats/"') < nav.index('href="/rewards/"')


def test_home_tiles_have_small_charts_linking_to_stats(owner_client, history):
    page = text(owner_client.get("/"))
    assert "Last 30 days" in page
    assert 'data-figure="orders">2<' in page
    assert 'data-figure="accounts">1<' in page
    assert page.count('data-small="true"') == 5
    assert 'href="/stats/?range=30d#orders"' in page


def test_a_campaign_page_draws_its_history_from_its_table(owner_client, tenant, history):
    save_campaign(tenant.id, CAMPAIGN, utcnow())
    initialise_campaign(tenant.id, "vip-treat", utcnow())
    page = text(owner_client.get("/campaigns/vip-treat"))
    history_table = page.split('id="history-title"')[1].split("</table>")[0]
    assert 'data-chart="bar" data-stacked="true"' in history_table
    assert '<th scope="col" class="num" data-series>' in history_table
    assert 'data-value="1"' in history_table  # Ana, in the treat state
    assert 'role="img"' in history_table and "js/stats.js" in page


def test_rewards_redeemed_and_what_the_open_points_are_worth(owner_client, tenant, history):
    coffee = add_reward(tenant, "coffee", "discount_amount", cost=15, value=50, title="Coffee")
    ordered(tenant, history, "ana-coffee", 1, 1000, rewards=["coffee"])
    page = text(owner_client.get("/stats/"))
    rewards = page.split('id="rewards-title"')[1].split("</section>")[0]
    assert '<th scope="row">Coffee</th><td class="num" data-value="1">1</td>' in rewards
    assert "At the value per point of the reward “Coffee”" in page
    rows = csv_rows(owner_client.get("/stats/rewards.csv"))
    assert rows == [
        ["reward_id", "title", "redemptions", "points"],
        [str(coffee.id), "Coffee", "1", "15"],
    ]


def test_stats_pages_are_never_cached_and_a_bogus_location_is_not_echoed(owner_client, history):
    bogus = "x" * 5_000
    response = owner_client.get(f"/stats/?range=30d&location={bogus}")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    assert 'id="range-location-error"' in text(response)
    assert bogus not in text(response)


def test_a_repeated_parameter_redirects_to_the_canonical_address(owner_client, history):
    response = owner_client.get("/stats/?range=7d&range=90d")

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/stats/?range=7d")
