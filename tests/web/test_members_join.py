"""Joining from the restaurant's member page: a new guest gets a pending account and a code, and
their choices count only once the code proves the address; a known e-mail or phone gets only a
code, and the page never tells the two apart."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import Account, utcnow
from loyalty.services.setup.settings import TenantSettings, update_settings
from tests.support.accounts import customer
from tests.support.api import last_code
from tests.support.forms import csrf_token
from tests.support.members import ask_code, codes_sent, enter_code, join, page_text

JOIN = "/m/trattoria/join"


def join_form(**overrides) -> dict:
    return {
        "first_name": "Zoë",
        "last_name": "Rossi",
        "contact": "Zoe@Example.com",
        "birthdate": "",
        "terms": "y",
    } | overrides


def accounts_of(tenant) -> list[Account]:
    db.session.expire_all()
    return list(db.session.scalars(select(Account).where(Account.tenant_id == tenant.id)))


def test_the_join_page_asks_for_consent_unticked_and_links_the_terms(client, tenant):
    update_settings(
        tenant.id,
        TenantSettings("Trattoria Roma", "EUR", 2, None, terms_url="https://roma.example/terms"),
    )
    page = client.get(JOIN).get_data(as_text=True)
    assert 'href="https://roma.example/terms"' in page
    marketing = page[
        page.index('id="marketing_consent"') - 80 : page.index('id="marketing_consent"') + 80
    ]
    assert "checked" not in marketing
    assert "Trattoria Roma" in page


def enter_sent_code(client, account, login="zoe@example.com"):
    return enter_code(client, "trattoria", login, last_code(account))


def test_a_new_guest_counts_for_nothing_until_the_code_proves_the_address(client, tenant):
    response = join(client, "trattoria", join_form(marketing_consent="y", birthdate="1990-04-02"))
    assert response.status_code == 200
    assert "Enter your code" in response.get_data(as_text=True)
    (account,) = accounts_of(tenant)
    assert (account.email, account.status) == ("zoe@example.com", "activation_pending")
    assert (account.first_name, account.birthdate) == ("", None)
    assert account.accepted_tc_at is None
    assert account.marketing_consent is False
    assert codes_sent(account) == 1


def test_the_code_applies_the_guests_choices_terms_and_consent(client, tenant):
    join(client, "trattoria", join_form(marketing_consent="y", birthdate="1990-04-02"))
    (account,) = accounts_of(tenant)
    assert enter_sent_code(client, account).status_code == 303
    (account,) = accounts_of(tenant)
    assert account.status == "active"
    assert (account.first_name, account.last_name) == ("Zoë", "Rossi")
    assert account.birthdate.isoformat() == "1990-04-02"
    assert account.accepted_tc_at is not None
    assert account.marketing_consent is True
    assert account.consents["marketing"].startswith(utcnow().date().isoformat())


def test_marketing_consent_is_off_unless_ticked(client, tenant):
    join(client, "trattoria", join_form())
    (account,) = accounts_of(tenant)
    enter_sent_code(client, account)
    (account,) = accounts_of(tenant)
    assert account.marketing_consent is False
    assert account.consents["marketing"] is False


def test_a_pending_account_takes_the_choices_of_the_join_whose_code_is_entered(client, app, tenant):
    someone_else = app.test_client()
    join(someone_else, "trattoria", join_form(first_name="Mallory", marketing_consent="y"))
    join(client, "trattoria", join_form(first_name="Zoe"))
    (account,) = accounts_of(tenant)
    assert enter_sent_code(client, account).status_code == 303
    (account,) = accounts_of(tenant)
    assert (account.first_name, account.marketing_consent) == ("Zoe", False)


def test_a_code_entered_on_another_phone_asks_that_phone_to_finish_joining(client, app, tenant):
    join(app.test_client(), "trattoria", join_form(first_name="Zoe", marketing_consent="y"))
    (account,) = accounts_of(tenant)
    ask_code(client, "trattoria", "zoe@example.com")  # the sign-in page: no join choices here
    assert enter_sent_code(client, account).status_code == 303
    card = client.get("/m/trattoria/")
    assert (card.status_code, card.headers["Location"]) == (303, JOIN)
    page = client.get(JOIN).get_data(as_text=True)
    assert 'value="zoe@example.com"' in page

    finished = client.post(JOIN, data=join_form(first_name="Zoé", birthdate="1990-04-02"))
    assert (finished.status_code, finished.headers["Location"]) == (303, "/m/trattoria/")
    (account,) = accounts_of(tenant)
    assert (account.status, account.first_name, account.marketing_consent) == (
        "active",
        "Zoé",
        False,
    )
    assert account.accepted_tc_at is not None
    assert codes_sent(account) == 2  # finishing sends no further code
    assert client.get("/m/trattoria/").status_code == 200
    assert client.get(JOIN).status_code == 303  # joined: the page goes to the card


def test_finishing_a_join_with_another_address_is_an_ordinary_join(client, app, tenant):
    join(app.test_client(), "trattoria", join_form())
    (account,) = accounts_of(tenant)
    ask_code(client, "trattoria", "zoe@example.com")
    enter_sent_code(client, account)
    response = join(client, "trattoria", join_form(contact="other@example.com"))
    assert "Enter your code" in response.get_data(as_text=True)
    mine = db.session.get(Account, account.id)
    db.session.refresh(mine)
    assert mine.status == "activation_pending"


def test_a_join_never_changes_an_active_account_even_with_its_code(client, tenant):
    known = customer(tenant, email="zoe@example.com", first_name="Zoe", marketing_consent=False)
    join(client, "trattoria", join_form(first_name="Mallory", marketing_consent="y"))
    assert enter_sent_code(client, known).status_code == 303
    (account,) = accounts_of(tenant)
    assert (account.first_name, account.marketing_consent) == ("Zoe", False)
    assert account.accepted_tc_at is None


def test_the_answer_is_out_before_any_account_is_made(client, tenant):
    response = client.post(JOIN, data=join_form())
    assert response.status_code == 200
    assert accounts_of(tenant) == []
    response.close()
    assert len(accounts_of(tenant)) == 1


def test_a_phone_number_is_kept_in_international_form(client, tenant):
    join(client, "trattoria", join_form(contact="0032 470 12 34 56"))
    (account,) = accounts_of(tenant)
    assert (account.phone, account.email) == ("+32470123456", None)


def test_the_code_sent_on_joining_signs_the_guest_in(client, tenant):
    join(client, "trattoria", join_form())
    (account,) = accounts_of(tenant)
    response = enter_sent_code(client, account)
    assert response.status_code == 303
    assert response.headers["Location"] == "/m/trattoria/"
    assert "Hello, Zoë" in client.get("/m/trattoria/").get_data(as_text=True)


def test_a_known_email_makes_no_duplicate_and_changes_nothing(client, tenant):
    known = customer(tenant, email="zoe@example.com", first_name="Zoe", marketing_consent=False)
    response = join(client, "trattoria", join_form(first_name="Mallory", marketing_consent="y"))
    assert response.status_code == 200
    (account,) = accounts_of(tenant)
    assert account.id == known.id
    assert (account.first_name, account.marketing_consent) == ("Zoe", False)
    assert account.accepted_tc_at is None
    assert codes_sent(account) == 1  # the owner of the address can sign in with it


def test_a_known_phone_is_not_duplicated_either(client, tenant):
    customer(tenant, phone="+32470123456")
    join(client, "trattoria", join_form(contact="+32 470 12 34 56"))
    assert len(accounts_of(tenant)) == 1


def test_joining_with_a_known_address_answers_the_same_page_as_a_new_one(client, tenant):
    customer(tenant, email="known@example.com")
    known = join(client, "trattoria", join_form(contact="known@example.com"))
    new = join(client, "trattoria", join_form(contact="new@example.com"))
    assert known.status_code == new.status_code == 200
    assert page_text(known).replace("known@", "X@") == page_text(new).replace("new@", "X@")


def test_an_address_typed_another_way_is_the_same_member(client, tenant):
    customer(tenant, email="zoe@bücher.example")
    for typed in ("ZOE@Bücher.Example.", "zoe@xn--bcher-kva.example"):
        join(client, "trattoria", join_form(contact=typed))
    assert len(accounts_of(tenant)) == 1


def test_the_same_address_in_another_restaurant_is_another_account(client, tenant, other_tenant):
    customer(other_tenant, email="zoe@example.com", first_name="Burger Zoe")
    join(client, "trattoria", join_form())
    (mine,) = accounts_of(tenant)
    enter_sent_code(client, mine)
    (mine,) = accounts_of(tenant)
    assert mine.first_name == "Zoë"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"terms": ""}, "terms"),
        ({"first_name": ""}, "first_name"),
        ({"contact": ""}, "contact"),
        ({"contact": "not an address"}, "contact"),
        ({"contact": "zoe@"}, "contact"),
        ({"birthdate": "yesterday"}, "birthdate"),
        ({"birthdate": "2999-01-01"}, "birthdate"),
        ({"first_name": "x" * 5000}, "first_name"),
        ({"contact": "a" * 5000 + "@example.com"}, "contact"),
        ({"first_name": "Zo\u202eWong"}, "first_name"),  # reads "ZognoW"
        ({"last_name": "Ros\u200bsi"}, "last_name"),
        ({"contact": "zo\u200be@example.com"}, "contact"),
    ],
)
def test_a_form_that_cannot_be_used_is_answered_422_and_keeps_nothing(
    client, tenant, overrides, field
):
    response = join(client, "trattoria", join_form(**overrides))
    assert response.status_code == 422
    assert f'id="field-{field}"' in response.get_data(as_text=True)
    assert 'class="field has-error" id="field-' + field in response.get_data(as_text=True)
    assert accounts_of(tenant) == []


def test_a_nul_character_is_refused_with_a_guest_page(client, tenant):
    response = join(client, "trattoria", join_form(first_name="Zo\x00e"))
    assert response.status_code == 400
    assert "Back to Trattoria Roma" in response.get_data(as_text=True)
    assert accounts_of(tenant) == []


def test_an_unknown_restaurant_is_a_guest_facing_404(client, tenant):
    for path in ("/m/no-such-place/join", "/m/x/join", "/m/trattoria/no-such-page"):
        response = client.get(path)
        assert response.status_code == 404
        page = response.get_data(as_text=True)
        assert "Page not found" in page
        assert "dashboard" not in page.lower()


def test_joining_without_the_csrf_token_is_refused(tenant, database_url):
    from tests.support.app import make_app

    app = make_app(database_url, WTF_CSRF_ENABLED=True)
    with app.test_client() as client:
        refused = join(client, "trattoria", join_form())
        assert refused.status_code == 400
        assert "did not come from this page" in refused.get_data(as_text=True)
        assert accounts_of(tenant) == []
        token = csrf_token(client.get(JOIN).get_data(as_text=True))
        accepted = join(client, "trattoria", join_form(csrf_token=token))
        assert accepted.status_code == 200
    assert len(accounts_of(tenant)) == 1


def test_a_signed_in_guest_is_sent_from_join_to_the_card(client, tenant):
    join(client, "trattoria", join_form())
    (account,) = accounts_of(tenant)
    enter_code(client, "trattoria", "zoe@example.com", last_code(account))
    response = client.get(JOIN)
    assert (response.status_code, response.headers["Location"]) == (303, "/m/trattoria/")
