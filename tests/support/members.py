"""The guest pages as a phone uses them: asking for a code, reading it from the outbox."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from loyalty.extensions import db
from loyalty.models import Account, CustomerCode, GuestSession, OutboxMessage
from tests.support.api import last_code


def finished(response):
    """The response as the guest's browser has it, once the server has finished with it: the
    code is issued, and a join's account made, after the answer."""
    response.get_data()
    response.close()
    return response


def ask_code(client, slug: str, login: str):
    return finished(client.post(f"/m/{slug}/sign-in", data={"contact": login}))


def join(client, slug: str, form: dict):
    return finished(client.post(f"/m/{slug}/join", data=form))


def enter_code(client, slug: str, login: str, code: str, next_page: str = ""):
    return client.post(f"/m/{slug}/code", data={"login": login, "code": code, "next": next_page})


def sign_in(client, slug: str, account: Account) -> None:
    """Sign `account` in on `client` through the sign-in page and the code it was sent."""
    login = account.email or account.phone
    assert ask_code(client, slug, login).status_code == 200
    response = enter_code(client, slug, login, last_code(account))
    assert response.status_code == 303, response.get_data(as_text=True)


def codes_sent(account: Account) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.account_id == account.id, OutboxMessage.kind == "one_time_code")
    )


def sessions_of(account: Account) -> int:
    db.session.expire_all()
    return db.session.scalar(
        select(func.count()).select_from(GuestSession).where(GuestSession.account_id == account.id)
    )


def age_codes(account: Account, expires_at) -> None:
    """Time passes: the account's codes end at `expires_at`."""
    for row in db.session.scalars(
        select(CustomerCode).where(CustomerCode.account_id == account.id)
    ):
        row.expires_at = expires_at
    db.session.commit()


def page_text(response) -> str:
    """The page's <main> as text, without the per-session CSRF token."""
    page = response.get_data(as_text=True)
    main = page[page.index("<main>") : page.index("</main>")]
    return re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "", main)


def sign_in_on_page(page, slug: str, login: str, read_code) -> None:
    """Sign in on a browser page as a guest does; `read_code()` gives the code that was sent."""
    page.goto(f"/m/{slug}/sign-in")
    page.get_by_label("E-mail or phone number").fill(login)
    page.get_by_role("button", name="Send me a code").click()
    page.get_by_label("Sign-in code").fill(read_code())
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Hello", exact=False).wait_for()
