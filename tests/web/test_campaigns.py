"""Campaign pages: drafts save incomplete, problems show beside their fields, the preview counts
real accounts, owners initialise and finalise, staff only look."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from loyalty.dashboard.campaigns.starters import STARTERS
from loyalty.extensions import db
from loyalty.models import Campaign, Coupon, Membership, utcnow
from loyalty.rules.campaigns import parse_campaign
from loyalty.services.campaigns.lifecycle import initialise_campaign
from loyalty.services.campaigns.store import campaign_wire, get_campaign, save_campaign
from loyalty.services.checkout.orders import OrderReport, record_order
from loyalty.time import to_iso
from tests.support.accounts import customer
from tests.support.deliverect import order_body
from tests.support.forms import errors_for


def campaign_form(**overrides) -> dict:
    """The editor as a browser posts it: VIP accounts get 10% off, then an order earns 200."""
    form = {
        "key": "vip-welcome",
        "name": "VIP welcome",
        "type": "STANDARD",
        "active_from": "",
        "active_to": "",
        "dynamic": "y",
        "max_coupons": "",
        "max_redemptions": "",
        "max_points": "",
        "constraints-0-kind": "tags",
        "constraints-0-name": "vip",
        "constraints-0-op": "EXISTS",
        "constraints-0-values": "",
        "states-0-id": "coupon",
        "states-0-type": "COUPON",
        "states-0-transition_to": "order",
        "states-0-coupon_type": "PERCENT",
        "states-0-value": "10",
        "states-0-valid_days": "30",
        "states-0-title": "10% off",
        "states-0-expired_transition_to": "",
        "states-1-id": "order",
        "states-1-type": "ORDER",
        "states-1-transition_to": "bonus",
        "states-1-count": "1",
        "states-1-min_total": "",
        "states-1-timeout": "",
        "states-1-timeout_transition_to": "",
        "states-2-id": "bonus",
        "states-2-type": "WALLET",
        "states-2-transition_to": "",
        "states-2-points": "200",
        "action": "save",
    }
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def stored(tenant, key: str = "vip-welcome") -> dict:
    db.session.expire_all()
    return campaign_wire(get_campaign(tenant.id, key))


def page_text(response) -> str:
    """The page's HTML with its white space squeezed, for attributes and markup."""
    return html.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def text_of(response) -> str:
    """What the page reads as, without its tags."""
    inline = re.sub(r"</?(a|strong|small|code|span)\b[^>]*>", "", page_text(response))
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", inline))


# --- the list and the starters


def test_the_empty_list_offers_a_new_campaign_and_the_starters(owner_client):
    page = owner_client.get("/campaigns/")
    assert page.status_code == 200
    text = page_text(page)
    assert "No campaigns yet" in text
    assert 'href="/campaigns/new"' in text
    for starter in STARTERS.values():
        assert starter.title in text
        assert f'action="/campaigns/starters/{starter.key}"' in text


@pytest.mark.parametrize("name", list(STARTERS))
def test_each_starter_creates_a_complete_draft(owner_client, tenant, name):
    response = owner_client.post(f"/campaigns/starters/{name}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/campaigns/{name}/edit"
    campaign = parse_campaign(stored(tenant, name), draft=False)  # ready to initialise
    assert campaign.name == STARTERS[name].definition["name"]
    assert owner_client.get(response.headers["Location"]).status_code == 200


def test_a_second_draft_from_one_starter_gets_a_free_id(owner_client, tenant):
    owner_client.post("/campaigns/starters/win-back")
    response = owner_client.post("/campaigns/starters/win-back")
    assert response.headers["Location"] == "/campaigns/win-back-2/edit"


def test_the_list_shows_type_status_and_counts(owner_client, tenant):
    save_campaign(tenant.id, {"id": "bday", "type": "BIRTHDAY", "name": "Birthday"}, utcnow())
    text = page_text(owner_client.get("/campaigns/"))
    assert "Birthday (yearly, on the day)" in text
    assert "draft" in text
    assert "not previewed" in text


# --- saving drafts


def test_a_draft_saves_incomplete(owner_client, tenant):
    response = owner_client.post(
        "/campaigns/new", data={"key": "later", "name": "", "type": "STANDARD", "action": "save"}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/campaigns/later/edit"
    assert stored(tenant, "later") == {
        "id": "later",
        "type": "STANDARD",
        "dynamic": False,
        "constraints": [],
        "states": [],
        "notifications": [],
    }


def test_the_three_state_campaign_is_stored_in_the_wire_shape(owner_client, tenant):
    response = owner_client.post("/campaigns/new", data=campaign_form())
    assert response.status_code == 303
    wire = stored(tenant)
    assert wire["constraints"] == [{"field": "tags.vip", "op": "EXISTS", "value": []}]
    assert [(s["id"], s["type"], s.get("transitionTo")) for s in wire["states"]] == [
        ("coupon", "COUPON", "order"),
        ("order", "ORDER", "bonus"),
        ("bonus", "WALLET", None),
    ]
    assert wire["states"][0]["value"] == 10
    assert wire["states"][2]["points"] == 200
    assert wire["dynamic"] is True


def test_amounts_are_typed_in_the_currency_and_stored_in_minor_units(owner_client, tenant):
    owner_client.post(
        "/campaigns/new",
        data=campaign_form(
            **{
                "states-0-coupon_type": "AMOUNT",
                "states-0-value": "2.50",
                "states-1-min_total": "15",
            }
        ),
    )
    wire = stored(tenant)
    assert wire["states"][0]["value"] == 250
    assert wire["states"][1]["minTotal"] == 1500
    edit = page_text(owner_client.get("/campaigns/vip-welcome/edit"))
    assert 'value="2.50"' in edit
    assert 'value="15.00"' in edit


def test_saving_again_keeps_what_was_stored(owner_client, tenant):
    owner_client.post("/campaigns/new", data=campaign_form(active_from="2026-06-01T09:00"))
    before = stored(tenant)
    page = owner_client.get("/campaigns/vip-welcome/edit").get_data(as_text=True)
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page))
    assert fields["active_from"] == "2026-06-01T09:00"
    owner_client.post(
        "/campaigns/vip-welcome/edit", data=campaign_form(active_from="2026-06-01T09:00")
    )
    assert stored(tenant) == before


def test_a_new_campaign_cannot_take_an_existing_id(owner_client, tenant):
    owner_client.post("/campaigns/new", data=campaign_form())
    response = owner_client.post("/campaigns/new", data=campaign_form(name="Other"))
    assert response.status_code == 422
    assert errors_for(response, "key") == ["another campaign already has this id"]
    assert stored(tenant)["name"] == "VIP welcome"


# --- problems beside their fields


def test_problems_show_beside_the_fields_they_name(owner_client, tenant):
    response = owner_client.post(
        "/campaigns/new",
        data=campaign_form(
            name="VI",
            **{
                "states-1-transition_to": "nowhere",
                "states-0-value": "150",
                "constraints-0-kind": "counters",
                "constraints-0-name": "orders",
                "constraints-0-op": "GT",
                "constraints-0-values": "many",
                "states-2-points": "lots",
            },
        ),
    )
    assert response.status_code == 422
    assert errors_for(response, "name") == ["use at least 3 characters"]
    assert errors_for(response, "states-1-transition_to") == [
        "must be the id of a state of this campaign"
    ]
    assert errors_for(response, "states-0-value") == [
        "must be more than 0 and at most 100 (percent)"
    ]
    assert errors_for(response, "constraints-0-values") == ["must be a whole number"]
    assert errors_for(response, "states-2-points") == ["must be a whole number"]
    assert "5 problems to correct" in page_text(response)
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_a_bad_amount_is_refused_beside_its_field(owner_client):
    response = owner_client.post(
        "/campaigns/new",
        data=campaign_form(**{"states-0-coupon_type": "AMOUNT", "states-0-value": "2.505"}),
    )
    assert response.status_code == 422
    assert errors_for(response, "states-0-value") == ["use at most 2 decimal places"]


def test_a_constraint_name_problem_shows_under_the_name(owner_client):
    response = owner_client.post(
        "/campaigns/new", data=campaign_form(**{"constraints-0-name": "no spaces"})
    )
    assert response.status_code == 422
    assert errors_for(response, "constraints-0-name")


def test_a_problem_with_the_whole_list_shows_atop_its_section(owner_client, tenant):
    owner_client.post("/campaigns/new", data=campaign_form(key="running"))
    initialise_campaign(tenant.id, "running", utcnow())
    form = campaign_form(
        key="running", **{"states-2-id": "renamed", "states-1-transition_to": "renamed"}
    )
    response = owner_client.post("/campaigns/running/edit", data=form)
    assert response.status_code == 422
    assert "a running campaign keeps its states' ids" in page_text(response)


# --- editing lists without JavaScript, and with htmx


def test_buttons_add_and_remove_rows_without_saving(owner_client, tenant):
    added = owner_client.post("/campaigns/new", data=campaign_form(action="add-constraint"))
    assert added.status_code == 200
    assert 'name="constraints-1-kind"' in added.get_data(as_text=True)
    removed = owner_client.post("/campaigns/new", data=campaign_form(action="remove-state-1"))
    page = removed.get_data(as_text=True)
    assert 'value="bonus"' in page and 'value="order"' not in page.split("states-1-id")[0][-400:]
    assert "states-2-id" not in page
    moved = owner_client.post("/campaigns/new", data=campaign_form(action="up-state-2"))
    ids = re.findall(
        r'name="states-\d-id" type="text" value="([^"]+)"', moved.get_data(as_text=True)
    )
    assert ids == ["coupon", "bonus", "order"]
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_htmx_redraws_only_the_form(owner_client):
    response = owner_client.post(
        "/campaigns/new",
        data=campaign_form(action=None, **{"states-2-type": "MESSAGE"}),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.lstrip().startswith("<form")
    assert 'name="states-2-message"' in page
    assert "HX-Request" in response.headers["Vary"]
    assert response.headers["HX-Trigger"] == "campaign-changed"


def test_each_constraint_reads_as_a_sentence(owner_client):
    page = page_text(
        owner_client.post(
            "/campaigns/new",
            data=campaign_form(
                action="redraw",
                **{
                    "constraints-0-kind": "header.lastOrder",
                    "constraints-0-op": "LT",
                    "constraints-0-values": "-P30D",
                },
            ),
        )
    )
    assert "has not ordered for 30 days" in page
    sentence = owner_client.post(
        "/campaigns/editor/sentence?prefix=constraints-0",
        data={
            "constraints-0-kind": "tags",
            "constraints-0-name": "vip",
            "constraints-0-op": "EXISTS",
        },
    )
    assert sentence.status_code == 200
    assert sentence.get_data(as_text=True) == "has the tag vip"


def test_notifications_are_added_and_saved(owner_client, tenant):
    added = owner_client.post("/campaigns/new", data=campaign_form(action="add-notification"))
    page = added.get_data(as_text=True)
    assert 'name="notifications-0-days_before"' in page
    form = campaign_form(
        **{
            "notifications-0-type": "COUPON_EXPIRATION",
            "notifications-0-days_before": "3",
            "notifications-0-day_part": "MORNING",
            "notifications-0-title": "Ends soon",
            "notifications-0-message": "Three days left.",
            "notifications-0-payload": "screen=coupons",
        }
    )
    assert owner_client.post("/campaigns/new", data=form).status_code == 303
    assert stored(tenant)["notifications"] == [
        {
            "type": "COUPON_EXPIRATION",
            "title": "Ends soon",
            "message": "Three days left.",
            "payload": {"screen": "coupons"},
            "dayPart": "MORNING",
            "daysBefore": 3,
        }
    ]


def test_a_complete_campaign_needs_notification_texts(owner_client, tenant):
    form = campaign_form(**{"notifications-0-type": "SPECIFIC_TIME", "notifications-0-at": "soon"})
    response = owner_client.post("/campaigns/new", data=form)
    assert response.status_code == 422
    assert errors_for(response, "notifications-0-at") == [
        "enter a date and time, such as 2026-06-01 09:00"
    ]


def test_the_outline_draws_each_state_and_where_it_leads(owner_client):
    page = page_text(owner_client.post("/campaigns/editor/outline", data=campaign_form()))
    assert 'aria-label="Outline of the flow"' in page
    assert "1. coupon" in page and "Gives a coupon: 10% off, valid 30 days" in page
    assert "then to order" in page
    assert "Credits 200 points" in page and "then the flow ends" in page


# --- the preview


@pytest.fixture()
def guests(tenant):
    """Three VIPs (one ordered a week ago) and two others, made through the services."""
    now = utcnow()
    vips = [customer(tenant, first_name=f"Vip{n}", tags=["vip"]) for n in range(3)]
    others = [customer(tenant, first_name=f"Guest{n}") for n in range(2)]
    record_order(
        tenant,
        OrderReport("O-1", vips[0].id, payment_amount=1500, ordered_at=now - timedelta(days=7)),
        now,
    )
    return vips, others


def test_the_preview_counts_the_matching_accounts(owner_client, guests):
    vips, _others = guests
    response = owner_client.post("/campaigns/editor/preview", data=campaign_form())
    assert response.status_code == 200
    text = page_text(response)
    assert "3 accounts match now." in text_of(response)
    assert "1 of them ordered in the last 30 days." in text_of(response)
    for vip in vips:
        assert f'href="/accounts/{vip.id}"' in text
    assert "Guest0" not in text


def test_the_preview_of_the_saved_campaign_is_recorded(owner_client, tenant, guests):
    owner_client.post("/campaigns/new", data=campaign_form())
    response = owner_client.post("/campaigns/editor/preview", data=campaign_form())
    assert "Recorded as the campaign's preview." in page_text(response)
    db.session.expire_all()
    row = get_campaign(tenant.id, "vip-welcome")
    assert row.cnt == 3
    assert row.previewed_at is not None
    assert len(row.samples) == 3


def test_an_unsaved_change_previews_without_recording(owner_client, tenant, guests):
    owner_client.post("/campaigns/new", data=campaign_form())
    changed = campaign_form(**{"constraints-0-op": "NE", "constraints-0-values": "true"})
    text = text_of(owner_client.post("/campaigns/editor/preview", data=changed))
    assert "2 accounts match now." in text
    assert "Recorded" not in text
    assert get_campaign(tenant.id, "vip-welcome").previewed_at is None


def test_the_preview_button_works_without_javascript(owner_client, guests):
    response = owner_client.post("/campaigns/new", data=campaign_form(action="preview"))
    assert response.status_code == 200
    assert "3 accounts match now." in text_of(response)


def test_a_form_with_problems_says_so_instead_of_counting(owner_client, guests):
    form = campaign_form(**{"states-1-transition_to": "nowhere"})
    text = page_text(owner_client.post("/campaigns/editor/preview", data=form))
    assert "The preview waits for 1 problem in the form to be corrected" in text


# --- initialise and finalise


@pytest.fixture()
def draft(owner_client, tenant, guests):
    owner_client.post("/campaigns/new", data=campaign_form())
    return "vip-welcome"


def test_initialising_enters_every_matching_account(owner_client, tenant, draft):
    confirm = owner_client.get(f"/campaigns/{draft}/initialise")
    assert confirm.status_code == 200
    assert "Initialise the campaign" in page_text(confirm)
    response = owner_client.post(f"/campaigns/{draft}/initialise")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/campaigns/{draft}"
    assert db.session.scalar(select(func.count()).select_from(Membership)) == 3
    assert db.session.scalar(select(func.count()).select_from(Coupon)) == 3
    page = page_text(owner_client.get(f"/campaigns/{draft}"))
    assert "running" in page
    assert re.search(r'data-label="Members now" class="num">3<', page)
    assert "Members in coupon" in page
    assert page.count('href="/accounts/') >= 3


def test_the_member_list_of_a_state_is_paged_and_redrawn_alone(owner_client, draft, guests):
    owner_client.post(f"/campaigns/{draft}/initialise")
    vips, _others = guests
    rows = owner_client.get(
        f"/campaigns/{draft}?state=coupon&page=1",
        headers={"HX-Request": "true", "HX-Target": "members"},
    )
    page = rows.get_data(as_text=True)
    assert page.lstrip().startswith("<section")
    assert all(f'href="/accounts/{vip.id}"' in page for vip in vips)
    empty = text_of(owner_client.get(f"/campaigns/{draft}?state=bonus"))
    assert "Members in bonus" in empty and "Nobody is in this state now." in empty


def test_the_campaign_page_says_when_a_limit_is_reached(owner_client, tenant, guests):
    owner_client.post("/campaigns/new", data=campaign_form(max_coupons="2"))
    assert get_campaign(tenant.id, "vip-welcome").max_coupons == 2
    owner_client.post("/campaigns/vip-welcome/initialise")
    assert db.session.scalar(select(func.count()).select_from(Coupon)) == 2
    page = text_of(owner_client.get("/campaigns/vip-welcome"))
    assert "The coupon limit is reached: no more coupons are issued." in page
    assert "limit reached" in text_of(owner_client.get("/campaigns/"))


def test_an_incomplete_campaign_is_refused_with_every_reason(owner_client, tenant):
    save_campaign(tenant.id, {"id": "unfinished", "type": "STANDARD"}, utcnow())
    confirm = text_of(owner_client.get("/campaigns/unfinished/initialise"))
    assert "It cannot be initialised yet" in confirm
    assert "Name: is required" in confirm
    assert "Constraints: give at least 1" in confirm
    response = owner_client.post("/campaigns/unfinished/initialise")
    assert response.status_code == 422
    assert "States: give at least 1" in text_of(response)
    assert get_campaign(tenant.id, "unfinished").status == "draft"


def test_a_reason_links_to_its_field_in_the_editor(owner_client, tenant):
    save_campaign(
        tenant.id,
        {
            "id": "half",
            "type": "STANDARD",
            "name": "Half done",
            "constraints": [{"field": "tags.vip", "op": "EXISTS", "value": []}],
            "states": [{"id": "gift", "type": "WALLET"}],
        },
        utcnow(),
    )
    confirm = owner_client.get("/campaigns/half/initialise")
    assert 'href="/campaigns/half/edit#field-states-0-points"' in page_text(confirm)
    assert "State 1 “gift”, Points to credit: is required" in text_of(confirm)


def test_finalising_ends_the_campaign_and_expires_its_coupons(owner_client, tenant, draft):
    owner_client.post(f"/campaigns/{draft}/initialise")
    assert owner_client.get(f"/campaigns/{draft}/finalise").status_code == 200
    response = owner_client.post(f"/campaigns/{draft}/finalise")
    assert response.status_code == 303
    assert get_campaign(tenant.id, draft).status == "finalised"
    assert set(db.session.scalars(select(Coupon.status))) == {"EXPIRED"}
    page = page_text(owner_client.get(f"/campaigns/{draft}"))
    assert "finalised" in page
    assert re.search(r"Coupons expired</span><span class=\"figure\">3<", page)


def test_the_campaign_page_shows_its_figures_since_it_started(
    owner_client, draft, guests, deliverect
):
    assert "Since it started" not in page_text(owner_client.get(f"/campaigns/{draft}"))
    owner_client.post(f"/campaigns/{draft}/initialise")
    vips, _others = guests
    who = {"loyaltyProviderCustomerId": vips[1].external_id}
    for order_id, payment in [("V-1", 1_250), ("V-2", 4_000)]:
        body = order_body(vips[1], order_id, payment=payment, created=to_iso(utcnow()))
        placed = deliverect.post("/orders", {**body, "customer": who}, with_ids=True)
        assert placed.status_code == 200
    cancel = {"orderId": "V-2", "isCancelled": True, "customer": who}
    assert deliverect.post("/orders/cancel", cancel, with_ids=True).status_code == 200
    response = owner_client.get(f"/campaigns/{draft}")
    page, today = page_text(response), utcnow().date().isoformat()
    assert f"Since it started on {today}" in page
    # The order a week before the start and the cancelled one do not count.
    assert re.search(r"Orders from members</span><span class=\"figure\">1<", page)
    assert re.search(r"Revenue from members</span><span class=\"figure\">12.50 <small>EUR<", page)
    assert re.search(r"Messages sent</span><span class=\"figure\">0<", page)
    text = text_of(response)
    assert "Members per state over time At the end of each day (UTC)" in text
    assert f"{today} 3 0 0 3" in text  # coupon, order, bonus, in a state
    assert page.count("<rect ") == 1  # one part of the bar: everybody holds the coupon


def test_staff_see_campaigns_but_change_nothing(staff_client, tenant):
    save_campaign(tenant.id, {"id": "bday", "type": "BIRTHDAY", "name": "Birthday"}, utcnow())
    assert staff_client.get("/campaigns/").status_code == 200
    editor = staff_client.get("/campaigns/bday/edit")
    assert editor.status_code == 200
    assert "Only owners can change campaigns." in page_text(editor)
    assert staff_client.get("/campaigns/bday").status_code == 200
    assert staff_client.get("/campaigns/bday/preview").status_code == 200
    for method, url in [
        ("GET", "/campaigns/new"),
        ("POST", "/campaigns/new"),
        ("POST", "/campaigns/bday/edit"),
        ("GET", "/campaigns/bday/initialise"),
        ("POST", "/campaigns/bday/initialise"),
        ("GET", "/campaigns/bday/finalise"),
        ("POST", "/campaigns/bday/finalise"),
        ("POST", "/campaigns/bday/delete"),
        ("POST", "/campaigns/starters/birthday"),
    ]:
        assert staff_client.open(url, method=method, data=campaign_form()).status_code == 403, url
    assert get_campaign(tenant.id, "bday").name == "Birthday"
    assert "Initialise" not in page_text(staff_client.get("/campaigns/bday"))


def test_an_owner_deletes_a_draft(owner_client, tenant):
    save_campaign(tenant.id, {"id": "oops", "type": "STANDARD"}, utcnow())
    response = owner_client.post("/campaigns/oops/delete")
    assert response.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_navigation_lists_campaigns_and_coupons(staff_client):
    nav = staff_client.get("/").get_data(as_text=True).split("</nav>")[0]
    assert 'href="/campaigns/"' in nav
    assert 'href="/coupons/"' in nav
