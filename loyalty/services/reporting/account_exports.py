"""The API's CSV exports (export, contactExport): rows made from accounts and what campaigns
see of them (services.campaigns.selection.account_facts), batch by batch, every cell through
exports.safe_cell so a spreadsheet never runs one as a formula.

Amounts are integers in minor units, dates ISO 8601, as everywhere in the API.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ...models import Account
from ...rules.constraints import AccountFacts
from ...time import to_iso_or_none
from .exports import safe_cell

COUNTERS = ("orders", "spent", "points", "lifetimePoints", "visits", "referrals")
ACCOUNT_COLUMNS = (
    "id",
    "card",
    "email",
    "phone",
    "firstName",
    "lastName",
    "birthdate",
    "sex",
    "created",
    "lastOrder",
    "tags",
    "venues",
    *COUNTERS,
    "marketingConsent",
)
CONTACT_COLUMNS = ("id", "card", "name", "email", "phone", "consents")


def account_rows(
    batches: Iterable[list[tuple[Account, AccountFacts]]],
) -> Iterator[list[str]]:
    """The header, then one row per account."""
    yield list(ACCOUNT_COLUMNS)
    for batch in batches:
        for account, facts in batch:
            counters = facts.counters
            cells = [
                account.external_id,
                account.card,
                account.email,
                account.phone,
                account.first_name,
                account.last_name,
                account.birthdate.isoformat() if account.birthdate else "",
                account.sex,
                to_iso_or_none(account.created_at),
                to_iso_or_none(account.last_order_at),
                ",".join(sorted(facts.tags)),
                ",".join(sorted(facts.venues)),
                *(counters.get(name, 0) for name in COUNTERS),
                "yes" if account.marketing_consent else "no",
            ]
            yield [safe_cell(cell) for cell in cells]


def contact_rows(batches: Iterable[list[Account]]) -> Iterator[list[str]]:
    """The header, then one row per account; `consents` names the consents given."""
    yield list(CONTACT_COLUMNS)
    for batch in batches:
        for account in batch:
            given = [name for name, value in sorted((account.consents or {}).items()) if value]
            if account.marketing_consent and "marketing" not in given:
                given.append("marketing")
            cells = [
                account.external_id,
                account.card,
                f"{account.first_name} {account.last_name}".strip(),
                account.email,
                account.phone,
                ",".join(given),
            ]
            yield [safe_cell(cell) for cell in cells]
