"""Item 5: look-ups by e-mail or phone match only those fields, so a card cannot hijack them."""

import io

import pytest

from loyalty.extensions import db
from loyalty.services.accounts.profile import Profile, create_account, update_profile
from loyalty.services.reporting.imports import ImportRejected, import_accounts
from loyalty.validation import FieldErrors
from tests.support.accounts import customer
from tests.support.deliverect import add_reward, give_points

MARIE_EMAIL = "marie@example.com"
MARIE_PHONE = "+32470123456"


@pytest.fixture()
def marie(tenant):
    """Two accounts whose cards read as Marie's e-mail and phone, saved before Marie signed up
    (still possible: the card is checked against the accounts that exist when it is saved)."""
    email_card = customer(tenant, email="one@x.com", card=MARIE_EMAIL)
    phone_card = customer(tenant, email="two@x.com", card="+32 470 12 34 56")
    for holder in (email_card, phone_card):
        give_points(holder, 500, f"opening-{holder.id}")
    return customer(tenant, email=MARIE_EMAIL, phone=MARIE_PHONE, first_name="Marie")


@pytest.mark.parametrize(
    "query",
    [{"email": MARIE_EMAIL}, {"phoneNumber": MARIE_PHONE}, {"providerId": MARIE_EMAIL}],
    ids=["email", "phone", "providerId"],
)
def test_get_customer_by_email_or_phone_answers_that_customer_not_a_card_holder(
    deliverect, marie, query
):
    response = deliverect.get("/customer", **query)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["providerId"] == marie.external_id


def test_an_order_for_an_email_credits_that_customer_not_the_card_holder(deliverect, marie):
    order = {
        "orderId": "O-marie",
        "customer": {"email": MARIE_EMAIL},
        "paymentAmount": 1000,
    }
    response = deliverect.post("/orders", order, with_ids=True)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["pointsEarned"] > 0
    db.session.refresh(marie)
    assert marie.points_balance == response.get_json()["pointsEarned"]


def test_channel_programs_by_email_see_that_customers_points(client, tenant, marie):
    add_reward(tenant, "1", "discount_amount", 100, 200)
    response = client.post(
        "/loyalty/channel-1/programs/retrieve",
        json={"order": {"customer": {"email": MARIE_EMAIL}, "orderType": 1}},
        headers={"Authorization": f"Bearer {tenant.issued.api_key}"},
    )
    assert response.status_code == 200, response.get_json()
    # Marie has no points; the card holders' 500 would make the reward applicable.
    assert [program["applicable"] for program in response.get_json()] == [False]


@pytest.mark.parametrize("card", ["Marie@Example.com", "0032 470 12 34 56"])
def test_a_card_that_is_another_accounts_email_or_phone_is_refused_when_saved(tenant, marie, card):
    other = customer(tenant, email="other@x.com")
    with pytest.raises(FieldErrors, match="card: is the (email|phone) of another account"):
        update_profile(tenant.id, other.id, Profile(email="other@x.com", card=card))
    db.session.rollback()
    with pytest.raises(FieldErrors, match="card: is the"):
        create_account(tenant.id, Profile(email="new@x.com", card=card))


def test_a_card_may_be_the_accounts_own_email(tenant):
    own = customer(tenant, email="self@x.com")
    update_profile(tenant.id, own.id, Profile(email="self@x.com", card="self@x.com"))
    assert own.card == "self@x.com"


def test_an_import_refuses_cards_that_are_another_accounts_email_or_phone(tenant, marie):
    csv = (
        "id,card,email\n"
        f"a1,{MARIE_EMAIL},a1@x.com\n"
        "a2,+32 470 12 34 56,a2@x.com\n"
        "a3,a4@x.com,a3@x.com\n"  # another row's e-mail, in the same file
        "a4,,a4@x.com\n"
        "a5,a5@x.com,a5@x.com\n"  # its own e-mail: fine
    )
    with pytest.raises(ImportRejected) as refused:
        import_accounts(tenant.id, io.StringIO(csv))
    problems = {
        (problem.where, problem.field): problem.message for problem in refused.value.problems
    }
    assert problems == {
        ("line 2", "card"): "is the email of another account",
        ("line 3", "card"): "is the phone of another account",
        ("line 4", "card"): "is the email of another account",
    }
