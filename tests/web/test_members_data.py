"""My data: a guest changes their profile and consent, downloads everything kept about them,
and deletes their account with the team's own erasure."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import Account, AccountEvent, GuestSession, utcnow
from tests.support.accounts import customer, earn
from tests.support.api import last_code
from tests.support.app import make_app
from tests.support.forms import csrf_token
from tests.support.members import codes_sent, enter_code, finished, sessions_of, sign_in

ME = "/m/trattoria/me"


@pytest.fixture()
def zoe(tenant):
    return customer(
        tenant, email="zoe@example.com", first_name="Zoe", last_name="Rossi", tags=["vip"]
    )


@pytest.fixture()
def zoe_client(client, zoe):
    sign_in(client, "trattoria", zoe)
    return client


def reloaded(account: Account) -> Account:
    db.session.expire_all()
    return db.session.get(Account, account.id)


def test_the_page_shows_the_guests_details(zoe_client):
    response = zoe_client.get(ME)
    page = response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "private, no-store"
    assert 'value="Zoe"' in page and 'value="Rossi"' in page
    assert "zoe@example.com" in page


def test_a_guest_changes_names_birthday_and_consent(zoe_client, zoe):
    response = zoe_client.post(
        ME,
        data={
            "first_name": "Zoë",
            "last_name": "Bianchi",
            "birthdate": "1991-05-06",
            "marketing_consent": "y",
        },
    )
    assert response.status_code == 303
    account = reloaded(zoe)
    assert (account.first_name, account.last_name) == ("Zoë", "Bianchi")
    assert account.birthdate.isoformat() == "1991-05-06"
    assert account.marketing_consent is True
    assert isinstance(account.consents["marketing"], str)
    assert account.email == "zoe@example.com" and account.tag_names == ["vip"]
    assert "Your details are saved." in zoe_client.get(ME).get_data(as_text=True)


def test_withdrawing_consent_is_recorded(zoe_client, zoe):
    zoe_client.post(ME, data={"first_name": "Zoe", "marketing_consent": "y"})
    zoe_client.post(ME, data={"first_name": "Zoe"})
    account = reloaded(zoe)
    assert account.marketing_consent is False
    assert account.consents["marketing"] is False


@pytest.mark.parametrize(
    "form",
    [
        {"first_name": ""},
        {"first_name": "Zoe", "birthdate": "31/02/1990"},
        {"first_name": "Zoe", "birthdate": "2999-01-01"},
        {"first_name": "Z" * 4000},
    ],
)
def test_details_that_cannot_be_used_are_a_422_and_change_nothing(zoe_client, zoe, form):
    assert zoe_client.post(ME, data=form).status_code == 422
    assert reloaded(zoe).first_name == "Zoe"


def test_the_download_holds_the_guests_data_and_is_not_cached(zoe_client, zoe):
    earn(zoe, 120)
    response = zoe_client.get("/m/trattoria/me/data.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert (
        response.headers["Content-Disposition"] == 'attachment; filename="trattoria-my-data.json"'
    )
    assert response.headers["Cache-Control"] == "private, no-store"
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == "zoe@example.com"
    assert data["account"]["tags"] == ["vip"]
    assert data["wallet"]["points"] == 120
    assert [entry["amount"] for entry in data["ledger"]] == [120]


def test_the_download_is_only_ever_the_signed_in_guests(zoe_client, tenant, other_tenant):
    customer(tenant, email="someone@example.com")
    customer(other_tenant, email="zoe@example.com", first_name="Burger")
    data = zoe_client.get("/m/trattoria/me/data.json").get_json()
    assert data["account"]["firstName"] == "Zoe"
    assert zoe_client.get("/m/burgerbar/me/data.json").status_code == 303


def test_deleting_asks_first(zoe_client, zoe):
    page = zoe_client.get("/m/trattoria/me/delete").get_data(as_text=True)
    assert "Yes, delete my account" in page
    assert reloaded(zoe).erased_at is None


def test_deleting_erases_the_account_and_signs_out(zoe_client, zoe):
    response = zoe_client.post("/m/trattoria/me/delete")
    assert response.status_code == 303
    assert response.headers["Location"] == "/m/trattoria/join"
    account = reloaded(zoe)
    assert account.erased_at is not None
    assert (account.email, account.first_name, account.tag_names) == (None, "", [])
    erased = db.session.query(AccountEvent).filter_by(account_id=zoe.id, type="ERASED").one()
    assert erased.data["byUserId"] is None  # the guest, not a team member
    assert sessions_of(zoe) == 0
    assert zoe_client.get("/m/trattoria/").status_code == 303
    assert "deleted" in zoe_client.get("/m/trattoria/join").get_data(as_text=True)


def age_sessions(account: Account, minutes: int) -> None:
    """Time passes: the account's guest sessions began `minutes` ago."""
    for row in db.session.scalars(
        select(GuestSession).where(GuestSession.account_id == account.id)
    ):
        row.created_at = utcnow() - timedelta(minutes=minutes)
    db.session.commit()


def test_a_sign_in_long_ago_proves_the_address_again_before_deleting(zoe_client, zoe):
    age_sessions(zoe, 20)
    page = zoe_client.get("/m/trattoria/me/delete").get_data(as_text=True)
    assert "Yes, delete my account" not in page
    assert "zoe@example.com" in page
    assert zoe_client.post("/m/trattoria/me/delete").status_code == 200
    assert reloaded(zoe).erased_at is None  # a stale sign-in erases nothing

    sent = codes_sent(zoe)
    asked = finished(zoe_client.post("/m/trattoria/me/delete/code"))
    assert asked.status_code == 200 and "Enter your code" in asked.get_data(as_text=True)
    assert codes_sent(zoe) == sent + 1
    back = enter_code(
        zoe_client, "trattoria", "zoe@example.com", last_code(zoe), "/m/trattoria/me/delete"
    )
    assert (back.status_code, back.headers["Location"]) == (303, "/m/trattoria/me/delete")
    assert "Yes, delete my account" in zoe_client.get(back.headers["Location"]).get_data(
        as_text=True
    )
    assert zoe_client.post("/m/trattoria/me/delete").status_code == 303
    assert reloaded(zoe).erased_at is not None


def test_a_wrong_code_does_not_open_the_deletion(zoe_client, zoe):
    age_sessions(zoe, 20)
    finished(zoe_client.post("/m/trattoria/me/delete/code"))
    wrong = "000000" if last_code(zoe) != "000000" else "111111"
    assert enter_code(zoe_client, "trattoria", zoe.email, wrong).status_code == 422
    zoe_client.post("/m/trattoria/me/delete")
    assert reloaded(zoe).erased_at is None


def test_the_same_address_can_join_again_after_deleting(zoe_client, tenant, zoe):
    zoe_client.post("/m/trattoria/me/delete")
    zoe_client.post(
        "/m/trattoria/join", data={"first_name": "Zoe", "contact": "zoe@example.com", "terms": "y"}
    ).close()  # the account is made after the answer
    db.session.expire_all()
    fresh = db.session.query(Account).filter_by(tenant_id=tenant.id, email="zoe@example.com").one()
    assert fresh.id != zoe.id


def test_changing_and_deleting_need_the_csrf_token(tenant, database_url):
    zoe = customer(tenant, email="zoe@example.com", first_name="Zoe")
    app = make_app(database_url, WTF_CSRF_ENABLED=True)
    with app.test_client() as client:
        token = csrf_token(client.get("/m/trattoria/sign-in").get_data(as_text=True))
        client.post(
            "/m/trattoria/sign-in", data={"contact": zoe.email, "csrf_token": token}
        ).close()  # the code is sent after the answer
        client.post(
            "/m/trattoria/code",
            data={"login": zoe.email, "code": last_code(zoe), "csrf_token": token},
        )
        assert client.post(ME, data={"first_name": "Mallory"}).status_code == 400
        assert client.post("/m/trattoria/me/delete").status_code == 400
        account = reloaded(zoe)
        assert (account.first_name, account.erased_at) == ("Zoe", None)
