"""Campaign selection in SQL gives exactly what rules.constraints.matches says, on both
databases; previews count, sample and record."""

from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from loyalty.extensions import db
from loyalty.models import Account, AccountEvent, AccountTag, Order
from loyalty.rules.constraints import (
    OPS,
    AccountFacts,
    Constraint,
    ConstraintError,
    check,
    matches,
)
from loyalty.services.campaigns.selection import (
    account_condition,
    account_facts,
    active_accounts,
    preview,
)
from loyalty.services.campaigns.store import get_campaign, save_campaign
from tests.support.accounts import customer
from tests.support.campaigns import welcome_series

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MOMENTS = [
    datetime(2026, 1, 1, tzinfo=UTC),
    NOW - timedelta(days=30),
    NOW - timedelta(days=1),
    datetime(2026, 5, 1, 10, 0, tzinfo=UTC),
]
TEXTS = ["", "a", "B", "Ann", "ann", "é", "10", "9", "Zoë"]
FIELD_VALUES = {
    "number": ["-1", "0", "1", "2", "3", "899", "5000"],
    "text": TEXTS,
    "held": ["true", "false"],
    "moment": ["2026-01-01", "2026-05-01T10:00:00Z", "-P30D", "-P1D", "P1D", "-P1M"],
    "day": ["1990-05-01", "2000-02-29", "--05-01", "--02-29", "--12-31", "-P30Y"],
}
FIELDS = {
    **{
        f"counters.{name}": "number"
        for name in ("orders", "spent", "visits", "points", "lifetimePoints", "referrals", "x")
    },
    "properties.fav": "text",
    "properties.tier": "text",
    "header.firstName": "text",
    "venues.v1": "held",
    "tags.vip": "held",
    "tags.x-y": "held",
    "header.created": "moment",
    "header.lastOrder": "moment",
    "header.birthdate": "day",
}

orders_strategy = st.lists(
    st.tuples(
        st.sampled_from(["placed", "placed", "cancelled"]),
        st.sampled_from([0, 899, 2500]),
        st.integers(0, 3),  # days before NOW
        st.sampled_from([None, "v1", "v2"]),
    ),
    max_size=3,
)
account_strategy = st.fixed_dictionaries(
    {
        "first_name": st.sampled_from(["", "Ann", "ann", "Zoë", "B"]),
        "created": st.sampled_from(MOMENTS),
        "last_order": st.none() | st.sampled_from(MOMENTS),
        "birthdate": st.none()
        | st.sampled_from([date(1990, 5, 1), date(2000, 2, 29), date(1985, 12, 31)]),
        "tags": st.sets(st.sampled_from(["vip", "x-y", "new"])),
        "properties": st.dictionaries(
            st.sampled_from(["fav", "tier"]), st.sampled_from([*TEXTS, 10, None, ["a"]])
        ),
        "orders": orders_strategy,
        "points": st.integers(0, 3),
        "lifetime": st.sampled_from([0, 899, 5000]),
        "referrals": st.integers(0, 2),
        "retired": st.sampled_from([False, False, True]),
    }
)


def _valid(constraint: Constraint) -> bool:
    try:
        check(constraint)
    except ConstraintError:
        return False
    return True


@st.composite
def constraint_strategy(draw):
    field = draw(st.sampled_from(sorted(FIELDS)))
    op = draw(st.sampled_from(OPS))
    pool = FIELD_VALUES[FIELDS[field]]
    if op == "EXISTS":
        values = ()
    elif op in ("IN", "NE"):
        values = tuple(draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3)))
    else:
        values = (draw(st.sampled_from(pool)),)
    return Constraint(field, op, values)


constraints_strategy = st.lists(constraint_strategy().filter(_valid), min_size=6, max_size=10)


def _add(tenant, number: int, spec: dict) -> tuple[int, AccountFacts, bool]:
    account = Account(
        tenant_id=tenant.id,
        external_id=f"acc-{number}",
        first_name=spec["first_name"],
        birthdate=spec["birthdate"],
        properties=spec["properties"],
        points_balance=spec["points"],
        lifetime_points=spec["lifetime"],
        last_order_at=spec["last_order"],
        created_at=spec["created"],
        erased_at=NOW if spec["retired"] else None,
    )
    db.session.add(account)
    db.session.flush()
    for tag in spec["tags"]:
        db.session.add(AccountTag(account_id=account.id, tag=tag, tenant_id=tenant.id))
    placed = []
    for index, (status, paid, days_ago, venue) in enumerate(spec["orders"]):
        at = NOW - timedelta(days=days_ago, hours=index)
        db.session.add(
            Order(
                tenant_id=tenant.id,
                external_id=f"o-{number}-{index}",
                account_id=account.id,
                status=status,
                payment_amount=paid,
                location_id=venue,
                ordered_at=at,
            )
        )
        if status == "placed":
            placed.append((paid, at.date(), venue))
    for index in range(spec["referrals"]):
        db.session.add(
            AccountEvent(
                tenant_id=tenant.id,
                account_id=account.id,
                type="INVITED",
                ts=NOW,
                related_external_id=f"friend-{index}",
            )
        )
    db.session.add(AccountEvent(tenant_id=tenant.id, account_id=account.id, type="INVITED_BY"))
    facts = AccountFacts(
        first_name=spec["first_name"] or None,
        created=spec["created"],
        last_order=spec["last_order"],
        birthdate=spec["birthdate"],
        tags=frozenset(spec["tags"]),
        venues=frozenset(venue for _paid, _day, venue in placed if venue),
        properties={k: v for k, v in spec["properties"].items() if isinstance(v, str)},
        counters={
            "orders": len(placed),
            "spent": sum(paid for paid, _day, _venue in placed),
            "visits": len({day for _paid, day, _venue in placed}),
            "points": spec["points"],
            "lifetimePoints": spec["lifetime"],
            "referrals": spec["referrals"],
        },
    )
    return account.id, facts, not spec["retired"]


def _empty(tenant) -> None:
    for model in (Order, AccountEvent, AccountTag, Account):
        db.session.execute(delete(model).where(model.tenant_id == tenant.id))
    db.session.commit()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(accounts=st.lists(account_strategy, min_size=1, max_size=6), battery=constraints_strategy)
def test_sql_selection_is_exactly_the_rules(tenant, accounts, battery):
    """Each constraint alone, and the first three together (AND), select the same accounts."""
    _empty(tenant)
    added = [_add(tenant, number, spec) for number, spec in enumerate(accounts)]
    db.session.commit()
    for chosen in [[constraint] for constraint in battery] + [battery[:3]]:
        expected = {
            account_id
            for account_id, facts, active in added
            if active and matches(chosen, facts, NOW)
        }
        selected = set(
            db.session.scalars(
                select(Account.id).where(active_accounts(tenant.id), account_condition(chosen, NOW))
            )
        )
        assert selected == expected, chosen
    # The facts the engine reads for one account are the same facts.
    read = account_facts(tenant.id, [account_id for account_id, _f, _a in added])
    for account_id, facts, _active in added:
        assert read[account_id] == facts


def test_preview_counts_samples_and_records_the_draft(tenant):
    for number in range(25):
        customer(tenant, external_id=f"guest-{number:02d}")
    db.session.commit()
    save_campaign(tenant.id, welcome_series(), NOW)
    result = preview(tenant.id, "welcome", NOW)
    assert result.cnt == 25 and len(result.samples) == 20
    assert result.samples[0].external_id == "guest-00"
    assert result.ordered_recently == 0
    row = get_campaign(tenant.id, "welcome")
    assert (row.cnt, row.previewed_at, row.samples[:2]) == (25, NOW, ["guest-00", "guest-01"])
