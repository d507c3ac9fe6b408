"""SQLAlchemy models, one module per aggregate; importing this registers them all."""

from .account import Account, AccountEvent, AccountTag
from .base import utcnow
from .deliverect import DeliverectAccount, DeliverectLink, RefusedRegistration, WebhookCall
from .job import JobWatermark
from .ledger import Hold, LedgerEntry
from .order import Order
from .reward import Reward
from .segment import Segment
from .tenant import Tenant
from .tier import Tier
from .user import LoginSession, LoginThrottle, User

__all__ = [
    "Account",
    "AccountEvent",
    "AccountTag",
    "DeliverectAccount",
    "DeliverectLink",
    "Hold",
    "JobWatermark",
    "LedgerEntry",
    "LoginSession",
    "LoginThrottle",
    "Order",
    "RefusedRegistration",
    "Reward",
    "Segment",
    "Tenant",
    "Tier",
    "User",
    "WebhookCall",
    "utcnow",
]
