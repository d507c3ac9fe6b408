"""Rewards: create, change, archive and restore them, with every rule checked in one place.

The dashboard forms and the CLI importer both call these functions with plain values (minor
units, hundredths of a percent, aware datetimes), so a reward is valid by the same rules whichever
door it came through. Problems are raised together, as one FieldErrors.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, fields
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import Reward, Tier, utcnow
from ...rules.programs import FULL_PERCENT, ITEM_TYPES, PERCENT_TYPES, REWARD_TYPES
from ...validation import CONFLICT, FieldErrors, text_problem
from ..scoping import get_for_tenant

MEDIA_TYPES = ("image", "video")
# Types that give items away: the value is unused.
FREE_TYPES = ("buy_one_get_one_free", "free_item")

TITLE_MAX = 128
PROGRAM_ID_MAX = 64
PLU_MAX = 64
MEDIA_URL_MAX = 1024
# Far above any real reward, far below the 32-bit integer columns.
MAX_COST = 100_000_000
MAX_AMOUNT = 1_000_000_000  # minor units
MAX_QUANTITY = 1000


@dataclass(frozen=True)
class RewardDetails:
    """Everything the team sets on a reward, in stored units."""

    title: str
    type: str
    cost: int  # points
    value: int = 0  # minor units; hundredths of a percent for PERCENT_TYPES; unused for FREE_TYPES
    description: str = ""
    item_plu: str | None = None
    quantity: int | None = None  # units covered (free units for BOGOF); None = one
    min_order_value: int | None = None  # minor units
    active_from: datetime | None = None
    active_to: datetime | None = None  # exclusive; sent to Deliverect as expiresAt
    media_url: str | None = None
    media_type: str | None = None  # image | video
    min_tier_id: int | None = None


def value_kind(reward_type: str) -> str:
    """'money' (for item_fixed_price, the new unit price), 'percent' or 'none': how the value
    of this type is typed and shown."""
    if reward_type in PERCENT_TYPES:
        return "percent"
    if reward_type in FREE_TYPES:
        return "none"
    return "money"


def media_url_problem(url: str) -> str | None:
    """Why a picture address cannot be shown in the ordering apps, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "enter a full address starting with https://"
    if len(url) > MEDIA_URL_MAX:
        return f"use at most {MEDIA_URL_MAX} characters"
    return None


def details_of(reward: Reward) -> RewardDetails:
    """The reward's current details, e.g. to change a few of them with dataclasses.replace."""
    return RewardDetails(
        **{field.name: getattr(reward, field.name) for field in fields(RewardDetails)}
    )


def reward_by_program_id(tenant_id: int, program_id: str) -> Reward | None:
    return db.session.scalar(
        select(Reward).where(Reward.tenant_id == tenant_id, Reward.program_id == program_id)
    )


def create_reward(tenant_id: int, details: RewardDetails, program_id: str | None = None) -> Reward:
    """A new reward; `program_id` is kept when given (imports), else a short unique one is made."""
    try:
        reward = add_reward(tenant_id, details, program_id)
        db.session.commit()
    except IntegrityError:
        # Another request took the same programId between our check and the insert.
        db.session.rollback()
        raise FieldErrors(
            {"program_id": "another reward already uses this program id"}, CONFLICT
        ) from None
    return reward


def add_reward(tenant_id: int, details: RewardDetails, program_id: str | None = None) -> Reward:
    """create_reward without the commit, for callers that save several changes as one."""
    details = check_details(tenant_id, details)
    if program_id is not None:
        program_id = program_id.strip()
        problem = _program_id_problem(tenant_id, program_id)
        if problem:
            raise FieldErrors({"program_id": problem})
    reward = Reward(tenant_id=tenant_id, program_id=program_id or _placeholder_id())
    _apply(reward, details)
    db.session.add(reward)
    db.session.flush()
    if program_id is None:
        reward.program_id = _generated_program_id(tenant_id, reward.id)
    return reward


def update_reward(tenant_id: int, reward_id: int, details: RewardDetails) -> Reward:
    """Replace the reward's details; its program id never changes, since orders refer to it."""
    reward = change_reward(tenant_id, reward_id, details)
    db.session.commit()
    return reward


def change_reward(tenant_id: int, reward_id: int, details: RewardDetails) -> Reward:
    """update_reward without the commit."""
    reward = get_for_tenant(Reward, reward_id, tenant_id)
    _apply(reward, check_details(tenant_id, details))
    return reward


def archive_reward(tenant_id: int, reward_id: int) -> Reward:
    """Stop listing the reward to customers; its history and program id stay."""
    reward = get_for_tenant(Reward, reward_id, tenant_id)
    if reward.archived_at is None:
        reward.archived_at = utcnow()
        db.session.commit()
    return reward


def restore_reward(tenant_id: int, reward_id: int) -> Reward:
    reward = get_for_tenant(Reward, reward_id, tenant_id)
    if reward.archived_at is not None:
        reward.archived_at = None
        db.session.commit()
    return reward


def rewards_for(tenant_id: int, archived: bool = False) -> list[Reward]:
    """Live rewards (oldest first), or only the archived ones."""
    condition = Reward.archived_at.is_not(None) if archived else Reward.archived_at.is_(None)
    return list(
        db.session.scalars(
            select(Reward).where(Reward.tenant_id == tenant_id, condition).order_by(Reward.id)
        )
    )


def count_archived(tenant_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Reward)
        .where(Reward.tenant_id == tenant_id, Reward.archived_at.is_not(None))
    )


def check_details(tenant_id: int, details: RewardDetails) -> RewardDetails:
    """The details normalised for their type (fields it ignores are cleared), or FieldErrors."""
    errors: dict[str, str] = {}
    title = (details.title or "").strip()
    missing_title = "give the reward a title customers will recognise"
    if problem := text_problem(title, TITLE_MAX, missing_title):
        errors["title"] = problem

    reward_type = details.type
    if reward_type not in REWARD_TYPES:
        errors["type"] = "choose one of: " + ", ".join(REWARD_TYPES)
        reward_type = None

    if details.cost is None or not 0 <= details.cost <= MAX_COST:
        errors["cost"] = f"enter a cost from 0 to {MAX_COST:,} points"

    value = details.value or 0
    kind = value_kind(reward_type) if reward_type else "none"
    if kind == "none":
        value = 0
    elif kind == "percent" and not 0 < value <= FULL_PERCENT:
        errors["value"] = "enter a percentage above 0 and at most 100"
    elif reward_type == "item_fixed_price" and value < 0:
        errors["value"] = "the new price must not be negative"
    elif kind == "money" and reward_type != "item_fixed_price" and value <= 0:
        errors["value"] = "enter an amount above 0"
    elif kind == "money" and value > MAX_AMOUNT:
        errors["value"] = "this amount is too large"

    item_plu = (details.item_plu or "").strip() or None
    quantity = details.quantity
    if reward_type in ITEM_TYPES:
        if item_plu is None:
            errors["item_plu"] = "enter the PLU of the item, as the POS knows it"
        elif len(item_plu) > PLU_MAX:
            errors["item_plu"] = f"use at most {PLU_MAX} characters"
        if quantity is not None and not 1 <= quantity <= MAX_QUANTITY:
            errors["quantity"] = f"must be from 1 to {MAX_QUANTITY} (leave empty for 1)"
    elif reward_type is not None:
        # Order-wide discounts have no item: keep no stale PLU that Deliverect would see.
        item_plu, quantity = None, None

    minimum = details.min_order_value
    if minimum is not None and not 0 <= minimum <= MAX_AMOUNT:
        errors["min_order_value"] = (
            "must not be negative" if minimum < 0 else "this amount is too large"
        )

    for name in ("active_from", "active_to"):
        moment = getattr(details, name)
        if moment is not None and moment.tzinfo is None:
            errors[name] = "give a time zone (times are stored in UTC)"
    if (
        "active_from" not in errors
        and "active_to" not in errors
        and details.active_from is not None
        and details.active_to is not None
        and details.active_to <= details.active_from
    ):
        errors["active_to"] = "must be after the start"

    media_url = (details.media_url or "").strip() or None
    media_type = details.media_type or None
    if media_url is None:
        media_type = None
    else:
        problem = media_url_problem(media_url)
        if problem:
            errors["media_url"] = problem
        media_type = media_type or "image"
        if media_type not in MEDIA_TYPES:
            errors["media_type"] = "choose image or video"

    if details.min_tier_id is not None:
        tier = db.session.get(Tier, details.min_tier_id)
        if tier is None or tier.tenant_id != tenant_id:
            errors["min_tier_id"] = "choose one of your tiers"

    if errors:
        raise FieldErrors(errors)
    return RewardDetails(
        title=title,
        type=reward_type,
        cost=details.cost,
        value=value,
        description=(details.description or "").strip(),
        item_plu=item_plu,
        quantity=quantity,
        min_order_value=details.min_order_value,
        active_from=details.active_from,
        active_to=details.active_to,
        media_url=media_url,
        media_type=media_type,
        min_tier_id=details.min_tier_id,
    )


def _apply(reward: Reward, details: RewardDetails) -> None:
    for field in fields(RewardDetails):
        setattr(reward, field.name, getattr(details, field.name))


def _program_id_problem(tenant_id: int, program_id: str) -> str | None:
    if not program_id:
        return "must not be empty"
    if len(program_id) > PROGRAM_ID_MAX:
        return f"use at most {PROGRAM_ID_MAX} characters"
    if reward_by_program_id(tenant_id, program_id) is not None:
        return "another reward already uses this program id"
    return None


def _placeholder_id() -> str:
    # Unique until the row id is known a moment later, within the same transaction.
    return "new-" + secrets.token_hex(8)


def _generated_program_id(tenant_id: int, row_id: int) -> str:
    """The row id as a string, unless an imported reward already uses it."""
    candidate = str(row_id)
    while reward_by_program_id(tenant_id, candidate) is not None:
        candidate = f"{row_id}-{secrets.token_hex(2)}"
    return candidate
