"""The account page: profile, tags, tier, ledger, adjustments, relations, merge and erasure."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import Account, AccountEvent, LedgerEntry, Order, Tier, utcnow
from loyalty.services.accounts.profile import find_account
from loyalty.services.checkout.orders import OrderReport, record_order
from loyalty.services.wallet.ledger import ledger_sum
from tests.support.accounts import customer, earn


def token_of(response) -> str:
    return re.search(
        r'name="token" type="hidden" value="([^"]+)"', response.get_data(as_text=True)
    ).group(1)


@pytest.fixture()
def zoe(tenant):
    return customer(
        tenant,
        external_id="zoe",
        first_name="Zoë",
        last_name="Rossi",
        email="zoe@example.com",
        card="CARD-1",
        tags=["vip"],
        marketing_consent=True,
    )


def test_the_page_shows_balances_tier_and_progress_to_the_next(staff_client, tenant, zoe):
    db.session.add_all(
        [
            Tier(tenant_id=tenant.id, name="Silver", threshold_points=100),
            Tier(tenant_id=tenant.id, name="Gold", threshold_points=1000),
        ]
    )
    db.session.commit()
    earn(zoe, 400)
    body = staff_client.get(f"/accounts/{zoe.id}").get_data(as_text=True)
    assert 'data-figure="points">400<' in body
    assert "Silver" in body and "600 more lifetime points to Gold" in body
    assert "agreed" in body and "vip" in body


def test_the_ledger_names_reason_order_and_team_member(staff_client, staff, tenant, zoe):
    report = OrderReport("ord-1", zoe.id, payment_amount=3000, channel_order_display_id="#1234")
    record_order(tenant, report, utcnow())
    earn(zoe, 5, kind="adjust", reason="birthday cake", user_id=staff.id)
    body = staff_client.get(f"/accounts/{zoe.id}").get_data(as_text=True)
    assert "order #1234" in body
    assert "birthday cake" in body and "by Sam Staff" in body
    assert "+30" in body and "+5" in body


def test_the_ledger_is_paginated_with_htmx_and_without(staff_client, zoe):
    for number in range(25):
        earn(zoe, 1, reason=f"visit {number}")
    body = staff_client.get(f"/accounts/{zoe.id}").get_data(as_text=True)
    assert "visit 24" in body and "visit 4<" not in body
    rows = staff_client.get(f"/accounts/{zoe.id}/ledger?page=2", headers={"HX-Request": "true"})
    assert 'id="ledger"' in rows.get_data(as_text=True)
    assert "visit 4<" in rows.get_data(as_text=True) and "<html" not in rows.get_data(as_text=True)
    plain = staff_client.get(f"/accounts/{zoe.id}/ledger?page=2")
    assert plain.status_code == 302 and plain.location.endswith(f"/accounts/{zoe.id}?ledger_page=2")
    assert "visit 4<" in staff_client.get(plain.location).get_data(as_text=True)


def test_staff_adjust_points_with_a_reason_and_the_entry_names_them(staff_client, staff, zoe):
    token = token_of(staff_client.get(f"/accounts/{zoe.id}"))
    response = staff_client.post(
        f"/accounts/{zoe.id}/adjust",
        data={"points": "50", "reason": "missing from order 12", "token": token},
    )
    assert response.status_code == 303
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.account_id == zoe.id))
    assert (entry.kind, entry.amount, entry.reason, entry.user_id) == (
        "adjust",
        50,
        "missing from order 12",
        staff.id,
    )
    assert db.session.get(Account, zoe.id).points_balance == 50


def test_an_adjustment_needs_a_reason(staff_client, zoe):
    token = token_of(staff_client.get(f"/accounts/{zoe.id}"))
    response = staff_client.post(
        f"/accounts/{zoe.id}/adjust", data={"points": "50", "reason": " ", "token": token}
    )
    assert response.status_code == 422
    assert "Say why the points change" in response.get_data(as_text=True)
    assert ledger_sum(zoe.id) == 0


def test_a_balance_never_goes_below_zero(staff_client, zoe):
    earn(zoe, 20)
    token = token_of(staff_client.get(f"/accounts/{zoe.id}"))
    response = staff_client.post(
        f"/accounts/{zoe.id}/adjust", data={"points": "-21", "reason": "typo", "token": token}
    )
    assert response.status_code == 422
    assert "The balance is 20 points: it cannot go below zero." in response.get_data(as_text=True)
    assert db.session.get(Account, zoe.id).points_balance == 20 == ledger_sum(zoe.id)


def test_a_double_submitted_adjustment_adjusts_once(staff_client, zoe):
    token = token_of(staff_client.get(f"/accounts/{zoe.id}"))
    form = {"points": "15", "reason": "coffee card stamps", "token": token}
    assert staff_client.post(f"/accounts/{zoe.id}/adjust", data=form).status_code == 303
    assert staff_client.post(f"/accounts/{zoe.id}/adjust", data=form).status_code == 303
    assert db.session.get(Account, zoe.id).points_balance == 15 == ledger_sum(zoe.id)
    fresh = token_of(staff_client.get(f"/accounts/{zoe.id}"))
    assert fresh != token
    staff_client.post(f"/accounts/{zoe.id}/adjust", data={**form, "token": fresh})
    assert ledger_sum(zoe.id) == 30


def test_an_adjustment_without_a_form_token_is_refused(staff_client, zoe):
    response = staff_client.post(
        f"/accounts/{zoe.id}/adjust", data={"points": "5", "reason": "x", "token": ""}
    )
    assert response.status_code == 422 and ledger_sum(zoe.id) == 0


def test_the_profile_is_editable_and_identifiers_stay_unique(staff_client, tenant, zoe):
    customer(tenant, external_id="mario", email="mario@example.com")
    profile = {
        "first_name": "Zoe",
        "last_name": "Rossi-Bianchi",
        "email": "ZOE@new.example",
        "phone": "0032 470 11 22 33",
        "card": "CARD-9",
        "birthdate": "1990-05-03",
        "sex": "FEMALE",
    }
    assert staff_client.post(f"/accounts/{zoe.id}/profile", data=profile).status_code == 303
    account = db.session.get(Account, zoe.id)
    db.session.refresh(account)
    assert (account.email, account.phone, account.last_name_key, account.marketing_consent) == (
        "zoe@new.example",
        "+32470112233",
        "rossi-bianchi",
        False,
    )
    clash = staff_client.post(
        f"/accounts/{zoe.id}/profile", data={**profile, "email": "mario@example.com"}
    )
    assert clash.status_code == 422 and "Another account already has this email." in clash.get_data(
        as_text=True
    )
    bad = staff_client.post(f"/accounts/{zoe.id}/profile", data={**profile, "phone": "call me"})
    assert bad.status_code == 422 and "not a phone number" in bad.get_data(as_text=True)


def test_tags_and_properties_are_editable(staff_client, zoe):
    response = staff_client.post(
        f"/accounts/{zoe.id}/tags",
        data={"tags": "lunch, vip,  terrace", "properties": "favourite: margherita\nallergy: none"},
    )
    assert response.status_code == 303
    account = db.session.get(Account, zoe.id)
    db.session.refresh(account)
    assert account.tag_names == ["lunch", "terrace", "vip"]
    assert account.properties == {"favourite": "margherita", "allergy": "none"}
    bad = staff_client.post(
        f"/accounts/{zoe.id}/tags", data={"tags": "two words", "properties": "no colon"}
    )
    assert bad.status_code == 422
    assert "is not a tag" in bad.get_data(as_text=True) and "line 1" in bad.get_data(as_text=True)


def test_an_invitation_shows_on_both_timelines(staff_client, tenant, zoe):
    mario = customer(tenant, external_id="mario", first_name="Mario", email="mario@example.com")
    response = staff_client.post(
        f"/accounts/{zoe.id}/relations", data={"type": "INVITED", "other": "mario@example.com"}
    )
    assert response.status_code == 303
    assert "This customer invited" in staff_client.get(f"/accounts/{zoe.id}").get_data(as_text=True)
    mario_page = staff_client.get(f"/accounts/{mario.id}").get_data(as_text=True)
    assert (
        "This customer was invited by" in mario_page and f'href="/accounts/{zoe.id}"' in mario_page
    )


def test_a_relation_can_name_someone_who_has_not_joined_yet(staff_client, zoe):
    staff_client.post(
        f"/accounts/{zoe.id}/relations", data={"type": "FRIEND", "other": "future-friend"}
    )
    assert "future-friend</code> (not a member yet)" in staff_client.get(
        f"/accounts/{zoe.id}"
    ).get_data(as_text=True)


def test_merge_moves_history_to_the_survivor_after_a_review(owner_client, owner, tenant, zoe):
    duplicate = customer(
        tenant, external_id="zoe-2", phone="+32470999888", card="OLD-CARD", tags=["lunch"]
    )
    earn(zoe, 100)
    earn(duplicate, 40)
    review = owner_client.get(f"/accounts/{zoe.id}/merge?other=OLD-CARD")
    assert review.status_code == 200 and "balance becomes 140 points" in review.get_data(
        as_text=True
    )
    response = owner_client.post(f"/accounts/{zoe.id}/merge", data={"other_id": str(duplicate.id)})
    assert response.status_code == 303
    survivor = db.session.get(Account, zoe.id)
    assert survivor.points_balance == 140 == ledger_sum(zoe.id)
    assert survivor.phone == "+32470999888" and survivor.tag_names == ["lunch", "vip"]
    assert find_account(tenant.id, "zoe-2").id == zoe.id
    assert "merged into" in owner_client.get(f"/accounts/{duplicate.id}").get_data(as_text=True)


def test_merge_review_explains_what_it_could_not_find(owner_client, zoe):
    response = owner_client.get(f"/accounts/{zoe.id}/merge?other=nobody@example.com")
    assert response.status_code == 422 and "No account matches" in response.get_data(as_text=True)
    itself = owner_client.get(f"/accounts/{zoe.id}/merge?other=zoe@example.com")
    assert "That is this account." in itself.get_data(as_text=True)


def test_staff_cannot_merge_erase_or_export(staff_client, tenant, zoe):
    other = customer(tenant, external_id="other")
    assert staff_client.get(f"/accounts/{zoe.id}/merge?other=other").status_code == 403
    assert (
        staff_client.post(f"/accounts/{zoe.id}/merge", data={"other_id": str(other.id)}).status_code
        == 403
    )
    assert staff_client.post(f"/accounts/{zoe.id}/erase").status_code == 403
    assert staff_client.get("/accounts/export.csv").status_code == 403
    assert staff_client.get("/accounts/contacts.csv").status_code == 403
    assert db.session.get(Account, other.id).merged_into_id is None


def test_erasure_is_confirmed_then_removes_personal_data_but_keeps_amounts(
    owner_client, owner, tenant, zoe
):
    guest = {"name": "Zoë Rossi", "email": "zoe@example.com"}
    report = OrderReport(
        "ord-9", zoe.id, payment_amount=7000, payload={"orderId": "ord-9", "customer": guest}
    )
    record_order(tenant, report, utcnow())
    confirm = owner_client.get(f"/accounts/{zoe.id}/erase")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.get_data(as_text=True)
    assert owner_client.post(f"/accounts/{zoe.id}/erase").status_code == 303
    db.session.expire_all()
    account = db.session.get(Account, zoe.id)
    assert (
        account.email,
        account.card,
        account.first_name,
        account.tag_names,
        account.consents,
    ) == (None, None, "", [], {})
    assert account.erased_at is not None and account.external_id.startswith("erased-")
    assert account.points_balance == 70 == ledger_sum(zoe.id)
    kept = db.session.scalar(select(Order).where(Order.external_id == "ord-9"))
    assert kept.payment_amount == 7000 and "customer" not in kept.payload
    assert find_account(tenant.id, "zoe@example.com") is None
    logged = db.session.scalar(select(AccountEvent).where(AccountEvent.type == "ERASED"))
    assert logged.data["byUserId"] == owner.id
    page = owner_client.get(f"/accounts/{zoe.id}").get_data(as_text=True)
    assert "Zoë" not in page and "zoe@example.com" not in page and "CARD-1" not in page


def test_erasure_logs_without_personal_data(owner_client, zoe, caplog):
    caplog.set_level("INFO")
    owner_client.post(f"/accounts/{zoe.id}/erase")
    assert "erased" in caplog.text
    assert "zoe" not in caplog.text.lower() and "CARD-1" not in caplog.text
