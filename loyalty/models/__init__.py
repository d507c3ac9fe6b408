"""SQLAlchemy models, one module per aggregate; importing this registers them all."""

from .account import Account, AccountEvent, AccountTag
from .api import ApiClient, ApiToken, CustomerCode
from .base import utcnow
from .campaign import (
    Campaign,
    CampaignPush,
    CampaignPushClick,
    Coupon,
    Membership,
    MembershipEvent,
)
from .deliverect import DeliverectAccount, DeliverectLink, RefusedRegistration, WebhookCall
from .earning import EarningRule
from .job import JobWatermark
from .ledger import Hold, LedgerEntry
from .members import GuestSession, SsoCode, SsoToken, WebShop
from .notification import NotificationSettings, OutboxMessage, PushDevice
from .order import Order
from .reward import Reward
from .segment import Segment
from .stats import StatsCohortMonth, StatsDay, StatsRewardDay, StatsRollupState
from .tenant import Tenant
from .tier import Tier
from .user import LoginSession, LoginThrottle, User

__all__ = [
    "Account",
    "AccountEvent",
    "AccountTag",
    "ApiClient",
    "ApiToken",
    "Campaign",
    "CampaignPush",
    "CampaignPushClick",
    "Coupon",
    "CustomerCode",
    "DeliverectAccount",
    "DeliverectLink",
    "EarningRule",
    "GuestSession",
    "Hold",
    "JobWatermark",
    "LedgerEntry",
    "LoginSession",
    "LoginThrottle",
    "Membership",
    "MembershipEvent",
    "NotificationSettings",
    "Order",
    "OutboxMessage",
    "PushDevice",
    "RefusedRegistration",
    "Reward",
    "Segment",
    "SsoCode",
    "SsoToken",
    "StatsCohortMonth",
    "StatsDay",
    "StatsRewardDay",
    "StatsRollupState",
    "Tenant",
    "Tier",
    "User",
    "WebShop",
    "WebhookCall",
    "utcnow",
]
