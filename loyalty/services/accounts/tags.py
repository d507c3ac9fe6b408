"""The tags and properties the team sets on an account."""

from __future__ import annotations

import re
from datetime import datetime

from ...extensions import db
from ...models import Account, AccountTag
from ..campaigns import engine
from ..scoping import get_for_tenant

TAG_PATTERN = re.compile(r"^[\w.:-]{1,64}$")
PROPERTY_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def parse_tags(text: str) -> list[str]:
    """Tags typed as 'vip, newsletter' (commas or new lines); ValueError names a bad one."""
    tags = sorted({t.strip() for t in re.split(r"[,\n]", text or "") if t.strip()})
    bad = [t for t in tags if not TAG_PATTERN.match(t)]
    if bad:
        raise ValueError(
            f"{bad[0]!r} is not a tag: use letters, digits and _ . : - (at most 64 characters)"
        )
    return tags


def parse_properties(text: str) -> dict[str, str]:
    """Properties typed one per line as 'key: value'."""
    properties: dict[str, str] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        key, separator, value = line.partition(":")
        key = key.strip()
        if not separator or not PROPERTY_KEY_PATTERN.match(key):
            raise ValueError(
                f"line {number}: write 'key: value' with a key of letters, digits and _ . -"
            )
        properties[key] = value.strip()[:500]
    return properties


def set_tags_and_properties(
    tenant_id: int,
    account_id: int,
    tags: list[str],
    properties: dict[str, str],
    *,
    now: datetime | None = None,
) -> Account:
    """Replace the account's tags and properties (validated with parse_tags/parse_properties);
    the account's campaigns see them."""
    account = get_for_tenant(Account, account_id, tenant_id)
    wanted = set(tags)
    account.tags = [t for t in account.tags if t.tag in wanted] + [
        AccountTag(tag=tag, tenant_id=tenant_id) for tag in sorted(wanted - set(account.tag_names))
    ]
    account.properties = dict(properties)
    db.session.flush()
    engine.on_account_changed(tenant_id, account.id, now)
    db.session.commit()
    return account
