"""One connection cannot ask for codes, or guess them, without limit: per address (IP) and
restaurant, code requests (join and sign in) and wrong codes are counted, and past the limit
the guest is asked to wait."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from loyalty.extensions import db
from loyalty.models import LoginThrottle, utcnow
from tests.support.accounts import customer
from tests.support.api import last_code
from tests.support.members import codes_sent, enter_code, finished

ELSEWHERE = {"REMOTE_ADDR": "198.51.100.7"}


@pytest.fixture()
def zoe(tenant):
    return customer(tenant, email="zoe@example.com", first_name="Zoe")


def ask(client, login: str, slug: str = "trattoria", **kwargs):
    return finished(client.post(f"/m/{slug}/sign-in", data={"contact": login}, **kwargs))


def guess(client, login: str, code: str, **kwargs):
    return client.post("/m/trattoria/code", data={"login": login, "code": code}, **kwargs)


def wrong_code_for(account) -> str:
    return "000000" if last_code(account) != "000000" else "111111"


def test_too_many_code_requests_from_one_address_are_asked_to_wait(client, app, zoe, other_tenant):
    for number in range(app.config["GUEST_CODE_REQUESTS_PER_WINDOW"]):
        assert ask(client, f"guest{number}@example.com").status_code == 200
    refused = ask(client, "zoe@example.com")
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert "Wait 15 minutes, then try again" in page
    assert "Back to Trattoria Roma" in page
    assert codes_sent(zoe) == 0
    # Another connection, and this connection at another restaurant, are not held up.
    assert ask(client, "zoe@example.com", environ_base=ELSEWHERE).status_code == 200
    assert codes_sent(zoe) == 1
    assert ask(client, "zoe@example.com", slug="burgerbar").status_code == 200


def test_joining_counts_as_asking_for_a_code(client, app, tenant):
    form = {"first_name": "Zoe", "contact": "zoe@example.com", "terms": "y"}
    for _ in range(app.config["GUEST_CODE_REQUESTS_PER_WINDOW"]):
        assert finished(client.post("/m/trattoria/join", data=form)).status_code == 200
    assert finished(client.post("/m/trattoria/join", data=form)).status_code == 429
    assert ask(client, "zoe@example.com").status_code == 429


def test_the_limit_starts_again_when_the_window_is_over(client, app, zoe):
    for number in range(app.config["GUEST_CODE_REQUESTS_PER_WINDOW"]):
        ask(client, f"guest{number}@example.com")
    assert ask(client, "zoe@example.com").status_code == 429
    window = app.config["LOGIN_THROTTLE_WINDOW_SECONDS"]
    db.session.execute(
        update(LoginThrottle).values(window_started_at=utcnow() - timedelta(seconds=window + 1))
    )
    db.session.commit()
    assert ask(client, "zoe@example.com").status_code == 200
    assert codes_sent(zoe) == 1


def test_too_many_wrong_codes_from_one_address_stop_even_a_right_one(client, app, tenant, zoe):
    ann = customer(tenant, email="ann@example.com")
    ask(client, "zoe@example.com")
    ask(client, "ann@example.com", environ_base=ELSEWHERE)
    # Spread over accounts and unknown logins, so no one account's codes die first.
    logins = ["nobody@example.com", "ann@example.com", "someone@example.com"]
    for number in range(app.config["GUEST_WRONG_CODES_PER_WINDOW"]):
        login = logins[number % len(logins)]
        assert guess(client, login, wrong_code_for(ann)).status_code == 422
    refused = enter_code(client, "trattoria", "zoe@example.com", last_code(zoe))
    assert refused.status_code == 429
    assert "Wait 15 minutes" in refused.get_data(as_text=True)
    # Zoe's code was not even tried: it still works from her own connection.
    signed = guess(client, "zoe@example.com", last_code(zoe), environ_base=ELSEWHERE)
    assert signed.status_code == 303


def test_right_codes_do_not_count_as_wrong_ones(client, app, tenant):
    limit = app.config["GUEST_WRONG_CODES_PER_WINDOW"]
    guests = [customer(tenant, email=f"guest{n}@example.com") for n in range(3)]
    for guest in guests:
        ask(client, guest.email)
    for _ in range(limit - 1):
        assert guess(client, "nobody@example.com", "000000").status_code == 422
    for guest in guests:  # each right code is taken back from the count
        assert enter_code(client, "trattoria", guest.email, last_code(guest)).status_code == 303
        client.post("/m/trattoria/sign-out")
    assert guess(client, "nobody@example.com", "000000").status_code == 422
    assert guess(client, "nobody@example.com", "000000").status_code == 429
