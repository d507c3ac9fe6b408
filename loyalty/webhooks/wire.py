"""Our objects in Deliverect's JSON shapes: customers, tiers, validation results, wallets."""

from __future__ import annotations

from datetime import UTC, datetime

from ..models import Account
from ..rules.checkout import WALLET_EXTERNAL_ID, CashCheck
from ..services.checkout.redemption import RequestedProgram
from ..services.setup.tiers import TierInfo
from ..services.wallet.balances import Wallet
from ..time import to_iso_or_none


def tier_json(tier: TierInfo) -> dict:
    return {
        "name": tier.name,
        "description": tier.description,
        "media": {
            "url": tier.media_url,
            "mediaType": "image",
            "requirements": {
                "minLifetimePoints": tier.min_lifetime_points,
                "maxLifetimePoints": tier.max_lifetime_points,
            },
        },
    }


def customer_json(account: Account, tier: TierInfo | None, with_balance: bool = False) -> dict:
    birth = (
        datetime(account.birthdate.year, account.birthdate.month, account.birthdate.day, tzinfo=UTC)
        if account.birthdate
        else None
    )
    data = {
        "providerId": account.external_id,
        "firstName": account.first_name,
        "lastName": account.last_name,
        "email": account.email,
        "phoneNumber": account.phone,
        "dateOfBirth": to_iso_or_none(birth),
        "status": account.status,
        "acceptedTCAt": to_iso_or_none(account.accepted_tc_at),
        "lifetimePointsBalance": account.lifetime_points,
        "tier": tier_json(tier) if tier else None,
    }
    if with_balance:
        data["balance"] = account.points_balance
    return data


def validation_json(result: RequestedProgram) -> dict:
    errors = [{"message": message} for message in result.errors]
    return {
        "programId": result.program_id,
        "validationErrors": errors,
        "discounts": [discount.to_wire() for discount in result.discounts],
        # Legacy clients read one object; sent alongside during Deliverect's transition.
        "validationError": errors[0] if errors else None,
    }


def wallet_json(wallet: Wallet) -> dict:
    return {
        "points": {
            "balance": wallet.points_spendable,
            "expirations": [
                {"amount": amount, "date": day.isoformat()}
                for day, amount in wallet.points_expirations
            ],
        },
        "cash": {"balanceAmount": wallet.cash_balance, "expirations": []},
    }


def cash_check_json(check: CashCheck) -> dict:
    discounts = []
    if check.amount:
        discounts.append(
            {
                "provider": "loyalty",
                "externalId": WALLET_EXTERNAL_ID,
                "offer": {"type": "flat_off", "value": check.amount},
                "scope": {"type": "order"},
            }
        )
    return {
        "validationErrors": [{"message": message} for message in check.errors],
        "discounts": discounts,
        "maxRedeemableAmount": check.max_redeemable,
    }
