"""A realistic demo restaurant: tiers, one reward of every type, customers and their history.

Deterministic for a given seed and `now`. Tenant, login, tiers and rewards go through their
services; the customers and their ~18 months of orders are generated in memory and written with
set-based inserts in one transaction (thousands of rows per statement, not one query per row).
Each account's ledger is replayed in order, so every `balance_after` is the running sum and the
cached balances are exactly the ledger's sums. Ledger keys follow services.checkout.orders,
so a demo order can be cancelled through the Deliverect webhook like a real one.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import exists, insert, select

from ..extensions import db
from ..models import Account, AccountTag, LedgerEntry, Order, Reward, Tenant, Tier, User
from ..rules.basket import basket_from_order
from ..rules.earning import Purchase, earn, free_units
from ..rules.identity import name_key
from ..rules.programs import Customer, check_program, discounts_for
from ..rules.tiers import rank_of, tier_for
from ..services.checkout.catalogue import as_program, tier_levels
from ..services.reporting import rollups
from ..services.setup.earning import RuleDetails, add_rule, earning_rules
from ..services.setup.rewards import RewardDetails, create_reward
from ..services.setup.team import create_user
from ..services.setup.tenants import IssuedCredentials, create_tenant, tenant_by_slug
from ..services.setup.tiers import TierDetails, create_tier
from ..time import local_time

DEFAULT_SLUG = "demo"
DEFAULT_NAME = "Trattoria Demo"
DEFAULT_PASSWORD = "loyalty-demo"
DEFAULT_ACCOUNTS = 2000
DEFAULT_SEED = 2024
HISTORY_DAYS = 540  # about 18 months
BATCH = 250  # accounts per round of inserts


class DemoError(ValueError):
    pass


@dataclass(frozen=True)
class DemoResult:
    tenant: Tenant
    credentials: IssuedCredentials | None  # only when the demo created the tenant
    owner_email: str
    password: str
    accounts: int
    orders: int
    ledger_entries: int
    tiers: int
    rewards: int
    stats_days: int = 0  # days of daily stats rollups built


def owner_email_for(slug: str) -> str:
    return f"owner@{slug.lower()}.example"


def any_tenant_exists() -> bool:
    return bool(db.session.scalar(select(exists().where(Tenant.id.is_not(None)))))


def load_demo(
    slug: str = DEFAULT_SLUG,
    *,
    accounts: int = DEFAULT_ACCOUNTS,
    seed: int = DEFAULT_SEED,
    password: str = DEFAULT_PASSWORD,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Fill a new (or still empty) tenant with the demo; `progress(n)` as accounts are written."""
    now = now or datetime.now(UTC)
    tenant = tenant_by_slug(slug)
    credentials = None
    if tenant is None:
        tenant, credentials = create_tenant(slug, DEFAULT_NAME if slug == DEFAULT_SLUG else slug)
    elif _has_data(tenant):
        # Never mix made-up customers into a restaurant's real data.
        raise DemoError(
            f"tenant {slug!r} already has accounts, rewards or tiers; "
            "demo data only goes into a new or empty tenant"
        )
    email = owner_email_for(slug)
    owner = db.session.scalar(select(User).where(User.email == email))
    if owner is None:
        owner = create_user(tenant.id, email, password, role="owner", name="Demo Owner")
    elif owner.tenant_id != tenant.id:
        raise DemoError(f"{email} already logs in to another tenant")
    tiers = [create_tier(tenant.id, details) for details in TIERS]
    tenant.time_zone = TIME_ZONE
    for details in EARNING_RULES:
        add_rule(tenant.id, details)
    rewards = [
        create_reward(tenant.id, details) for details in _reward_details(now, gold=tiers[-1])
    ]
    history = _History(tenant, owner, rewards, random.Random(seed), now)
    try:
        for start in range(0, accounts, BATCH):
            count = min(BATCH, accounts - start)
            history.write_accounts(count)
            if progress:
                progress(count)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    stats_days = rollups.rebuild(tenant.id, now)  # the Stats pages read days from rollups
    return DemoResult(
        tenant=tenant,
        credentials=credentials,
        owner_email=email,
        password=password,
        accounts=accounts,
        orders=history.orders_written,
        ledger_entries=history.entries_written,
        tiers=len(tiers),
        rewards=len(rewards),
        stats_days=stats_days,
    )


def _has_data(tenant: Tenant) -> bool:
    return any(
        db.session.scalar(select(exists().where(model.tenant_id == tenant.id)))
        for model in (Account, Reward, Tier)
    )


# -- the restaurant --------------------------------------------------------------------------

TIERS = (
    TierDetails("Bronze", 0, 100, "Everyone who joins."),
    TierDetails("Silver", 500, 125, "Regulars: every order earns a quarter more."),
    TierDetails("Gold", 2000, 150, "Our best guests: half as many points again on every order."),
)

TIME_ZONE = "Europe/Rome"
# Besides a point per euro (every new restaurant's rule): an espresso stamp card, and double
# points on quiet Tuesday afternoons.
EARNING_RULES = (
    RuleDetails("item", "espresso stamps", points=1, plus="DRK-ESPR"),
    RuleDetails(
        "bonus",
        "Tuesday afternoon",
        multiplier_percent=200,
        weekdays=(1,),
        starts_at=15 * 60,
        ends_at=17 * 60,
        cap=100,
    ),
)

# (PLU, name, price in cents)
MENU = (
    ("PIZ-MARG", "Pizza Margherita", 1150),
    ("PIZ-DIAV", "Pizza Diavola", 1350),
    ("PIZ-QFOR", "Pizza Quattro Formaggi", 1450),
    ("PAS-CARB", "Spaghetti Carbonara", 1400),
    ("PAS-LASA", "Lasagne al Forno", 1450),
    ("PAS-PEST", "Trofie al Pesto", 1300),
    ("SAL-CAES", "Caesar Salad", 1050),
    ("SID-GARL", "Garlic Bread", 450),
    ("DES-TIRA", "Tiramisù", 650),
    ("DES-PANN", "Panna Cotta", 600),
    ("DRK-SPRI", "Aperol Spritz", 850),
    ("DRK-COLA", "Coca-Cola 33cl", 320),
    ("DRK-ESPR", "Espresso", 240),
)
MENU_BY_PLU = {plu: (name, price) for plu, name, price in MENU}


def _reward_details(now: datetime, gold: Tier) -> list[RewardDetails]:
    """One reward of every program type, priced like a neighbourhood trattoria would."""
    return [
        RewardDetails(
            title="Free espresso",
            type="free_item",
            cost=60,
            item_plu="DRK-ESPR",
            description="A perfect espresso after your meal, on us.",
        ),
        RewardDetails(
            title="€5 off your order",
            type="discount_amount",
            cost=250,
            value=500,
            min_order_value=2500,
            description="Five euros off any order of €25 or more.",
        ),
        RewardDetails(
            title="Half-price tiramisù",
            type="item_discount_percentage",
            cost=120,
            value=5000,
            item_plu="DES-TIRA",
            description="Our house tiramisù at half price.",
        ),
        RewardDetails(
            title="€3 off a Pizza Diavola",
            type="item_discount_amount",
            cost=150,
            value=300,
            item_plu="PIZ-DIAV",
        ),
        RewardDetails(
            title="Aperol Spritz for €5",
            type="item_fixed_price",
            cost=140,
            value=500,
            item_plu="DRK-SPRI",
            description="Aperitivo time: any Spritz for five euros.",
            active_to=(now + timedelta(days=60)).replace(hour=0, minute=0, second=0, microsecond=0),
        ),
        RewardDetails(
            title="Margherita: buy one, get one free",
            type="buy_one_get_one_free",
            cost=350,
            item_plu="PIZ-MARG",
            quantity=1,
            description="Order two Margheritas, pay for one.",
        ),
        RewardDetails(
            title="Free garlic bread",
            type="free_item",
            cost=90,
            item_plu="SID-GARL",
            min_order_value=2000,
        ),
        RewardDetails(
            title="Gold: 15% off your order",
            type="discount_percentage",
            cost=600,
            value=1500,
            min_order_value=3000,
            description="For our Gold guests: 15% off orders of €30 or more.",
            min_tier_id=gold.id,
        ),
    ]


# -- the customers ---------------------------------------------------------------------------

FIRST_NAMES = (
    ("Emma", "FEMALE"),
    ("Louise", "FEMALE"),
    ("Olivia", "FEMALE"),
    ("Mila", "FEMALE"),
    ("Elena", "FEMALE"),
    ("Sofia", "FEMALE"),
    ("Julia", "FEMALE"),
    ("Nora", "FEMALE"),
    ("Zoë", "FEMALE"),
    ("Chloé", "FEMALE"),
    ("Lotte", "FEMALE"),
    ("Marie", "FEMALE"),
    ("Amélie", "FEMALE"),
    ("Giulia", "FEMALE"),
    ("Hanna", "FEMALE"),
    ("Inès", "FEMALE"),
    ("Fatima", "FEMALE"),
    ("Sara", "FEMALE"),
    ("Anouk", "FEMALE"),
    ("Léa", "FEMALE"),
    ("Noah", "MALE"),
    ("Lucas", "MALE"),
    ("Louis", "MALE"),
    ("Liam", "MALE"),
    ("Arthur", "MALE"),
    ("Jules", "MALE"),
    ("Adam", "MALE"),
    ("Matteo", "MALE"),
    ("Luca", "MALE"),
    ("Finn", "MALE"),
    ("Victor", "MALE"),
    ("Mohamed", "MALE"),
    ("Thomas", "MALE"),
    ("Daan", "MALE"),
    ("Milan", "MALE"),
    ("Elias", "MALE"),
    ("Wout", "MALE"),
    ("Jonas", "MALE"),
    ("Hugo", "MALE"),
    ("Björn", "MALE"),
    ("Alex", None),
    ("Sam", None),
    ("Robin", None),
    ("Charlie", None),
)
LAST_NAMES = (
    "Peeters",
    "Janssens",
    "Maes",
    "Jacobs",
    "Mertens",
    "Willems",
    "Claes",
    "Goossens",
    "Wouters",
    "De Smet",
    "Dubois",
    "Lambert",
    "Dupont",
    "Martin",
    "Lefèvre",
    "Rossi",
    "Russo",
    "Esposito",
    "Bianchi",
    "Romano",
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "de Vries",
    "van den Berg",
    "Bakker",
    "Visser",
    "Smith",
    "Murphy",
    "O'Brien",
    "García",
    "Fernández",
    "El Amrani",
    "Benali",
    "Nowak",
    "Kowalski",
    "Yılmaz",
    "Nguyen",
    "Van Damme",
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example")
# (country code, mobile prefix, digits after the prefix): all valid mobile ranges.
PHONE_PLANS = (
    ("+32", "47", 7),
    ("+32", "48", 7),
    ("+32", "49", 7),
    ("+31", "6", 8),
    ("+33", "6", 8),
    ("+49", "151", 8),
    ("+44", "7700", 6),
)
TAGS = (
    "newsletter",
    "student",
    "family",
    "office-lunch",
    "vegetarian",
    "takeaway",
    "birthday-club",
)
SOURCES = ("app", "website", "kiosk", "in-store")
LOCATIONS = ("loc-centrum", "loc-station", "loc-harbour")


@dataclass
class _Entry:
    kind: str
    amount: int
    key_suffix: str  # ":earn", ":redeem:<reward id>", ...; None-order entries use their own key
    at: datetime
    reason: str
    reward_id: int | None = None
    lifetime: int = 0
    user_id: int | None = None
    key: str | None = None  # for entries without an order
    breakdown: list[dict] | None = None  # an earn's parts (rules.earning), or its reversal's


@dataclass
class _PlannedOrder:
    values: dict
    entries: list[_Entry] = field(default_factory=list)


class _History:
    """Generates batches of customers with their orders and writes them set-based."""

    def __init__(
        self, tenant: Tenant, owner: User, rewards: list[Reward], rng: random.Random, now: datetime
    ):
        self.tenant, self.owner, self.rng, self.now = tenant, owner, rng, now
        self.levels = tier_levels(tenant.id)
        self.rewards = [(reward, as_program(reward, self.levels)) for reward in rewards]
        self.rules = earning_rules(tenant.id)
        self.used: dict[str, set[str]] = {
            "email": set(),
            "phone": set(),
            "card": set(),
            "id": set(),
        }
        self.orders_written = 0
        self.entries_written = 0
        self.adjustments = 0

    def write_accounts(self, count: int) -> None:
        plans = [self._plan_account() for _ in range(count)]
        account_ids = db.session.scalars(
            insert(Account).returning(Account.id, sort_by_parameter_order=True),
            [values for values, _tags, _orders, _loose in plans],
        ).all()
        tags = [
            {"account_id": account_id, "tag": tag, "tenant_id": self.tenant.id}
            for account_id, (_v, account_tags, _o, _l) in zip(account_ids, plans, strict=True)
            for tag in account_tags
        ]
        if tags:
            db.session.execute(insert(AccountTag), tags)
        orders = [
            (account_id, planned)
            for account_id, (_v, _t, account_orders, _l) in zip(account_ids, plans, strict=True)
            for planned in account_orders
        ]
        order_ids = (
            db.session.scalars(
                insert(Order).returning(Order.id, sort_by_parameter_order=True),
                [{**planned.values, "account_id": account_id} for account_id, planned in orders],
            ).all()
            if orders
            else []
        )
        entries: list[dict] = []
        balances: dict[int, int] = {}
        order_of_entry = {
            id(entry): order_id
            for (_a, planned), order_id in zip(orders, order_ids, strict=True)
            for entry in planned.entries
        }
        for account_id, (_v, _t, account_orders, loose) in zip(account_ids, plans, strict=True):
            timeline = sorted(
                [entry for planned in account_orders for entry in planned.entries] + loose,
                key=lambda entry: entry.at,
            )
            balance = 0
            for entry in timeline:
                balance += entry.amount
                order_id = order_of_entry.get(id(entry))
                entries.append(
                    {
                        "tenant_id": self.tenant.id,
                        "account_id": account_id,
                        "unit": "points",
                        "kind": entry.kind,
                        "amount": entry.amount,
                        "balance_after": balance,
                        "idempotency_key": entry.key or f"order:{order_id}{entry.key_suffix}",
                        "reason": entry.reason,
                        "order_id": order_id,
                        "reward_id": entry.reward_id,
                        "user_id": entry.user_id,
                        "breakdown": entry.breakdown,
                        "created_at": entry.at,
                    }
                )
            balances[account_id] = balance
        if entries:
            db.session.execute(insert(LedgerEntry), entries)
        for account_id, (values, *_rest) in zip(account_ids, plans, strict=True):
            # A generator bug must fail loudly, never leave balances off the ledger.
            if balances[account_id] != values["points_balance"]:
                raise DemoError("demo ledger and cached balance disagree")
        guests = [self._plan_guest_order() for _ in range(count // 2)]
        if guests:
            db.session.execute(insert(Order), guests)
        self.orders_written += len(order_ids) + len(guests)
        self.entries_written += len(entries)
        db.session.flush()

    def _plan_guest_order(self) -> dict:
        """An order of somebody who is no member (no account): it earns and redeems nothing,
        and gives the stats their members-versus-guests comparison."""
        moment = self.now - timedelta(
            days=HISTORY_DAYS * self.rng.random(), seconds=self.rng.randrange(86400)
        )
        values = self._plan_order(min(moment, self.now - timedelta(minutes=5)), 0, 0).values
        values["payload"].pop("discounts", None)
        return {
            **values,
            "account_id": None,
            "points_earned": 0,
            "earning_breakdown": None,
            "points_spent": 0,
        }

    # -- one customer ---------------------------------------------------------------------

    def _plan_account(self) -> tuple[dict, list[str], list[_PlannedOrder], list[_Entry]]:
        rng = self.rng
        first, sex = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        # More recent sign-ups than old ones: the programme is growing.
        joined = self.now - timedelta(
            days=HISTORY_DAYS * rng.random() ** 1.6, seconds=rng.randrange(86400)
        )
        joined = min(joined, self.now - timedelta(minutes=5))
        external_id = self._unique("id", lambda: f"acc_{rng.getrandbits(64):016x}")
        email = phone = card = None
        if rng.random() < 0.92:
            email = self._unique("email", lambda: self._email(first, last))
        if rng.random() < 0.72 or email is None:
            phone = self._unique("phone", self._phone)
        if rng.random() < 0.35:
            card = self._unique("card", lambda: f"LC{rng.randrange(10**8):08d}")
        marketing = rng.random() < 0.62
        birthdate = None
        if rng.random() < 0.7:
            birthdate = date(
                self.now.year - rng.randint(18, 75), rng.randint(1, 12), rng.randint(1, 28)
            )
        tags = sorted({rng.choice(TAGS) for _ in range(rng.choice((0, 0, 1, 1, 1, 2, 3)))})
        orders, loose, summary = self._plan_history(joined, external_id)
        if summary["lifetime"] >= 2000 and rng.random() < 0.7:
            tags = sorted({*tags, "vip"})
        values = {
            "tenant_id": self.tenant.id,
            "external_id": external_id,
            "card": card,
            "email": email,
            "phone": phone,
            "first_name": first,
            "last_name": last,
            "first_name_key": name_key(first),
            "last_name_key": name_key(last),
            "birthdate": birthdate,
            "sex": sex if rng.random() < 0.8 else None,
            "properties": {"source": rng.choice(SOURCES)},
            "consents": {"marketing": marketing},
            "marketing_consent": marketing,
            "status": "active",
            "accepted_tc_at": joined,
            "points_balance": summary["balance"],
            "cash_balance": 0,
            "lifetime_points": summary["lifetime"],
            "first_order_at": summary["first_order_at"],
            "last_order_at": summary["last_order_at"],
            "lock_version": 0,
            "created_at": joined,
            "updated_at": summary["last_order_at"] or joined,
        }
        return values, tags, orders, loose

    def _plan_history(
        self, joined: datetime, external_id: str
    ) -> tuple[list[_PlannedOrder], list[_Entry], dict]:
        rng, now = self.rng, self.now
        age_days = max(0.0, (now - joined).total_seconds() / 86400)
        kind = rng.random()
        if kind < 0.14:
            wanted = 0
        elif kind < 0.62:
            wanted = rng.randint(1, 3)
        elif kind < 0.88:
            wanted = rng.randint(4, 12)
        elif kind < 0.97:
            wanted = rng.randint(13, 40)
        else:
            wanted = rng.randint(41, 90)
        wanted = min(wanted, 1 + int(age_days // 2))
        moments = sorted(
            joined + timedelta(seconds=rng.uniform(0, (now - joined).total_seconds()))
            for _ in range(wanted)
        )
        balance = lifetime = 0
        orders: list[_PlannedOrder] = []
        loose: list[_Entry] = []
        first_order_at = last_order_at = None
        for moment in moments:
            planned = self._plan_order(moment, balance, lifetime)
            orders.append(planned)
            for entry in planned.entries:
                balance += entry.amount
                lifetime += entry.lifetime
            if planned.values["status"] == "placed":
                first_order_at = first_order_at or moment
                last_order_at = moment
        adjustment = self._plan_adjustment(moments[-1], balance, external_id) if moments else None
        if adjustment is not None:
            loose.append(adjustment)
            balance += adjustment.amount
        return (
            orders,
            loose,
            {
                "balance": balance,
                "lifetime": lifetime,
                "first_order_at": first_order_at,
                "last_order_at": last_order_at,
            },
        )

    def _plan_adjustment(
        self, last_order: datetime, balance: int, external_id: str
    ) -> _Entry | None:
        """Now and then the team corrects a balance or makes a goodwill gesture after an order."""
        rng = self.rng
        if rng.random() >= 0.06:
            return None
        at = last_order + timedelta(hours=rng.randint(2, 72))
        if at >= self.now:
            return None
        if balance >= 50 and rng.random() < 0.3:
            amount, reason = -50, "Correction: order was registered twice by the POS"
        else:
            amount = rng.choice((50, 100, 150))
            reason = rng.choice(
                ("Sorry about the late delivery", "Pizza arrived cold", "Welcome back gift")
            )
        self.adjustments += 1
        return _Entry(
            kind="adjust",
            amount=amount,
            key_suffix="",
            at=at,
            reason=reason,
            user_id=self.owner.id,
            key=f"demo:adjust:{external_id}:{self.adjustments}",
        )

    def _plan_order(self, moment: datetime, balance: int, lifetime: int) -> _PlannedOrder:
        rng, tenant = self.rng, self.tenant
        lines: dict[str, int] = {}
        for _ in range(rng.choice((1, 2, 2, 3, 3, 4, 5))):
            plu = rng.choice(MENU)[0]
            lines[plu] = lines.get(plu, 0) + rng.choice((1, 1, 1, 2, 2, 3))
        tier = tier_for(lifetime, self.levels)
        customer = Customer(
            points_available=balance, tier_rank=rank_of(tier.tier_id, self.levels) if tier else None
        )
        redeemed: tuple[Reward, int] | None = None
        free: list = []
        if balance >= 60 and rng.random() < 0.3:
            reward, program = rng.choice(self.rewards)
            # The customer picked it in the app: the item it needs goes in the basket.
            if program.item_plu:
                needed = 2 if program.type == "buy_one_get_one_free" else 1
                lines[program.item_plu] = max(lines.get(program.item_plu, 0), needed)
            basket = basket_from_order(self._payload_items(lines))
            if check_program(program, customer, basket, moment).applicable:
                amount = sum(d.amount for d in discounts_for(program, basket))
                redeemed = (reward, amount)
                free = [program]
        order_type = rng.choice((1, 1, 2, 2, 2, 3))
        sub_total = sum(MENU_BY_PLU[plu][1] * quantity for plu, quantity in lines.items())
        delivery = 250 if order_type == 2 else 0
        tip = rng.choice((0, 0, 0, 100, 200)) if order_type != 1 else 0
        discount = redeemed[1] if redeemed else 0
        payment = sub_total + delivery + tip - discount
        basket = basket_from_order(self._payload_items(lines))
        purchase = Purchase(
            paid=payment,
            tips=tip,
            fees=delivery,
            decimal_digits=tenant.decimal_digits,
            items=basket.items,
            free_units=free_units(free, basket),
            local_time=local_time(tenant.time_zone, moment),
        )
        earned = earn(self.rules, purchase, tenant.decimal_digits, tier)
        points, parts = earned.total, earned.earned()
        order_id = f"{rng.getrandbits(96):024x}"
        display = f"#{rng.randrange(1000, 9999)}"
        cancelled = not redeemed and rng.random() < 0.02
        entries: list[_Entry] = []
        if redeemed:
            reward = redeemed[0]
            entries.append(
                _Entry(
                    "redeem",
                    -reward.cost,
                    f":redeem:{reward.id}",
                    moment,
                    f"{reward.title} on order {order_id}",
                    reward_id=reward.id,
                )
            )
        if points:
            entries.append(
                _Entry(
                    "earn",
                    points,
                    ":earn",
                    min(moment + timedelta(seconds=1), self.now),
                    f"Order {order_id}",
                    lifetime=points,
                    breakdown=parts,
                )
            )
        cancelled_at = None
        if cancelled and points:
            cancelled_at = min(moment + timedelta(minutes=rng.randint(3, 40)), self.now)
            entries.append(
                _Entry(
                    "reversal",
                    -points,
                    ":earn:reversal",
                    cancelled_at,
                    f"Order {order_id} cancelled",
                    lifetime=-points,
                    breakdown=[{**part, "points": -part["points"]} for part in parts],
                )
            )
        payload = {
            "orderId": order_id,
            "channelOrderDisplayId": display,
            "orderType": order_type,
            "decimalDigits": tenant.decimal_digits,
            **self._payload_items(lines),
            "deliveryCost": delivery,
            "tip": tip,
            "discountTotal": -discount,
            "payment": {"amount": payment},
        }
        if redeemed:
            payload["discounts"] = [
                {
                    "type": "loyalty",
                    "provider": "loyalty",
                    "name": redeemed[0].title,
                    "programId": redeemed[0].program_id,
                    "amount": discount,
                }
            ]
        values = {
            "tenant_id": tenant.id,
            "external_id": order_id,
            "status": "cancelled" if cancelled_at else "placed",
            "channel_order_display_id": display,
            "location_id": rng.choice(LOCATIONS),
            "order_type": order_type,
            "decimal_digits": tenant.decimal_digits,
            "sub_total": sub_total,
            "discount_total": -discount,
            "payment_amount": payment,
            "tip": tip,
            "points_earned": points,
            "earning_breakdown": parts or None,
            "points_spent": redeemed[0].cost if redeemed else 0,
            "cash_spent": 0,
            "shortfall_points": 0,
            "cancellation_reason": "Customer cancelled" if cancelled_at else None,
            "ordered_at": moment,
            "created_at": moment,
            "cancelled_at": cancelled_at,
            "payload": payload,
        }
        return _PlannedOrder(values, entries)

    @staticmethod
    def _payload_items(lines: dict[str, int]) -> dict:
        return {
            "items": [
                {
                    "plu": plu,
                    "name": MENU_BY_PLU[plu][0],
                    "price": MENU_BY_PLU[plu][1],
                    "quantity": quantity,
                }
                for plu, quantity in lines.items()
            ]
        }

    def _email(self, first: str, last: str) -> str:
        rng = self.rng
        local = name_key(first).replace(" ", "") + rng.choice((".", "_", ""))
        local += name_key(last).replace(" ", "").replace("'", "")
        local = local.encode("ascii", "ignore").decode()
        if rng.random() < 0.6:
            local += str(rng.randint(1, 99))
        return f"{local}@{rng.choice(EMAIL_DOMAINS)}"

    def _phone(self) -> str:
        country, prefix, digits = self.rng.choice(PHONE_PLANS)
        return f"{country}{prefix}{self.rng.randrange(10**digits):0{digits}d}"

    def _unique(self, kind: str, make: Callable[[], str]) -> str:
        used = self.used[kind]
        value = make()
        while value in used:
            value = make()
        used.add(value)
        return value
