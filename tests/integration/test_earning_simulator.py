"""The simulator plays its scenario against a restaurant with several earning rules: the order
earns by the same rules as any Deliverect order, and its cancel takes all of it back."""

from loyalty.extensions import db
from loyalty.models import Account, LedgerEntry
from loyalty.services.setup.earning import RuleDetails, add_rule
from loyalty.services.wallet.ledger import ledger_sum
from loyalty.webhooks.simulator import Simulator
from tests.integration.test_deliverect_simulator import server  # noqa: F401


def test_the_simulated_order_earns_by_every_rule_and_its_cancel_reverses_it(
    server,  # noqa: F811
    tenant,
):
    add_rule(tenant.id, RuleDetails("visit", "visit", points=5, min_amount=1000))
    add_rule(tenant.id, RuleDetails("item", "stamps", points=1, plus="SIM-1 SIM-1-NOTE"))
    add_rule(tenant.id, RuleDetails("bonus", "launch", multiplier_percent=200, cap=10))
    simulator = Simulator(server, tenant.issued.api_key, tenant.issued.webhook_secret)
    exchanges = simulator.run("full")
    assert [(e.step, e.problems) for e in exchanges if not e.ok] == []
    db.session.expire_all()
    earn = db.session.query(LedgerEntry).filter_by(kind="earn").one()
    # 25.00 paid: 25 spend, a visit, 2 items with a modifier each, the bonus capped at 10.
    assert [(part["label"], part["points"]) for part in earn.breakdown] == [
        ("spend", 25),
        ("visit", 5),
        ("stamps", 4),
        ("launch", 10),
    ]
    for account in db.session.query(Account).all():
        assert account.points_balance == ledger_sum(account.id) == 0
