"""Per-requester limits on the guest pages: how many codes one address (IP) may ask for, and how
many wrong codes it may type, per restaurant and window.

Counted in the team logins' LoginThrottle table under their own key prefixes ("guest-codes:",
"guest-guesses:"), each by one conditional UPDATE, so every worker and host sees one count and
parallel requests cannot all slip under the limit. `tick` prunes the rows with the team's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, literal, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ...extensions import db
from ...models import LoginThrottle
from ...models.base import UTCDateTime


class GuestThrottled(Exception):
    """Too many requests from this address lately: the guest is asked to wait."""


def count_code_request(
    tenant_id: int, address: str, *, limit: int, window_seconds: int, now: datetime
) -> None:
    """Count a request for a code (join or sign in) from `address`; GuestThrottled over the
    limit (commits)."""
    if not _counted(_key("guest-codes", tenant_id, address), limit, window_seconds, now):
        raise GuestThrottled()


def count_guess(
    tenant_id: int, address: str, *, limit: int, window_seconds: int, now: datetime
) -> None:
    """Count a typed code before it is checked (so parallel guesses are counted too);
    GuestThrottled over the limit (commits). A right code takes it back (`forgive_guess`)."""
    if not _counted(_key("guest-guesses", tenant_id, address), limit, window_seconds, now):
        raise GuestThrottled()


def forgive_guess(tenant_id: int, address: str) -> None:
    """The code was right: it does not count as a wrong one (commits)."""
    db.session.execute(
        update(LoginThrottle)
        .where(
            LoginThrottle.key == _key("guest-guesses", tenant_id, address),
            LoginThrottle.failures > 0,
        )
        .values(failures=LoginThrottle.failures - 1)
    )
    db.session.commit()


def _counted(key: str, limit: int, window_seconds: int, now: datetime) -> bool:
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    insert = postgresql_insert if postgresql else sqlite_insert
    db.session.execute(
        insert(LoginThrottle)
        .values(key=key, failures=0, pending=0, window_started_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    window_over = LoginThrottle.window_started_at < now - timedelta(seconds=window_seconds)
    count = case((window_over, 0), else_=LoginThrottle.failures)
    counted = db.session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == key, count < limit)
        .values(
            failures=count + 1,
            window_started_at=case(
                (window_over, literal(now, UTCDateTime)), else_=LoginThrottle.window_started_at
            ),
        )
        .returning(LoginThrottle.key)
    ).first()
    db.session.commit()
    return counted is not None


def _key(kind: str, tenant_id: int, address: str) -> str:
    return f"{kind}:{tenant_id}:{address[:200]}"
