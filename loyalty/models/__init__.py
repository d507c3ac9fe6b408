"""SQLAlchemy models, one module per aggregate; importing this registers them all."""

from .account import Account, AccountEvent, AccountTag
from .base import utcnow
from .deliverect import DeliverectLink, WebhookCall
from .job import JobWatermark
from .ledger import Hold, LedgerEntry
from .order import Order
from .reward import Reward
from .segment import Segment
from .tenant import Tenant
from .tier import Tier
from .user import FailedLogin, User

__all__ = [
    "Account",
    "AccountEvent",
    "AccountTag",
    "DeliverectLink",
    "FailedLogin",
    "Hold",
    "JobWatermark",
    "LedgerEntry",
    "Order",
    "Reward",
    "Segment",
    "Tenant",
    "Tier",
    "User",
    "WebhookCall",
    "utcnow",
]
