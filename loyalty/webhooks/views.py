"""Deliverect loyalty-provider webhooks: thin doors over services, in the spec's shapes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import current_app, jsonify, request
from werkzeug.wrappers import Response

from ..models import Account, Tenant, utcnow
from ..rules.basket import Basket, BasketError, basket_from_order
from ..services.accounts.profile import AccountError, AccountExists
from ..services.checkout import customers, orders, redemption
from ..services.checkout.catalogue import catalogue
from ..services.checkout.customers import CheckoutCustomer
from ..services.deliverect import links as deliverect
from ..services.deliverect.links import LinkedTenant
from ..services.setup.tenants import tenant_by_api_key
from ..services.setup.tiers import customer_tier, tier_ladder
from ..services.wallet import balances as wallet
from . import webhooks
from .context import (
    Call,
    check_body,
    context_ids,
    linked_request,
    logged,
    read_json,
    refuse_too_deep,
    unverified_summary,
    verify_signature,
)
from .responses import NotFound, WebhookError, bad_request, value_response
from .schemas import (
    CancelNotification,
    CustomerRef,
    LoyaltyOrder,
    NewCustomer,
    OrderDiscount,
    OrderNotification,
    ProgramsRequest,
    Registration,
    ValidateProgramsRequest,
    ValidateWalletRequest,
    parse,
)
from .urls import webhook_urls
from .wire import cash_check_json, customer_json, tier_json, validation_json, wallet_json

PREFIX = "/webhooks/deliverect"
# Years a date in a body may name: far dates are garbage, and adding a points validity to them
# would overflow datetime further down.
MOMENTS = range(1900, 2200)
# Provider webhooks find their tenant through the link; channel endpoints by API key.
AnyTenant = LinkedTenant | Tenant


@webhooks.post(f"{PREFIX}/registration")
@logged("registration")
def registration(call: Call) -> Response:
    raw = request.get_data(cache=True)
    body = read_json(raw)
    refuse_too_deep(body)
    account_id, profile_id, channel_link_id = context_ids(body, {})
    call.request_data = unverified_summary(raw, account_id, profile_id)
    api_key = body.get("apiKey") if isinstance(body, dict) else None
    tenant = tenant_by_api_key(api_key) if isinstance(api_key, str) else None
    if tenant is None:
        call.notes.append("unknown or missing apiKey")
        return value_response(400)
    call.tenant_id = tenant.id
    verify_signature(raw, tenant, channel_link_id, call)
    check_body(body)
    call.request_data = body
    payload = parse(Registration, body)
    if not payload.deliverect_account_id:
        raise bad_request("accountId: Field required")
    if not payload.loyaltyProfileId:
        raise bad_request("loyaltyProfileId: must not be empty")
    try:
        deliverect.register_link(tenant.id, payload.deliverect_account_id, payload.loyaltyProfileId)
    except deliverect.LinkTaken:
        call.notes.append("this Deliverect account is registered to another tenant")
        raise WebhookError(
            409,
            "conflict",
            "this Deliverect account is registered to another restaurant on this loyalty server",
        ) from None
    return jsonify(webhook_urls())


@webhooks.route(f"{PREFIX}/customer", methods=["GET", "POST"])
@logged("customer")
def customer(call: Call) -> Response:
    context = linked_request(call)
    tenant = context.tenant
    if request.method == "GET":
        account = _customer_from_query(tenant, context.query)
        return jsonify(customer_json(account, customer_tier(account)))
    details = parse(NewCustomer, context.body)
    if not (details.email or details.phoneNumber):
        raise bad_request("email or phoneNumber is required")
    new = customers.NewCustomer(
        first_name=details.firstName or "",
        last_name=details.lastName or "",
        email=details.email,
        phone=details.phoneNumber,
        birthdate=_birthdate(details.dateOfBirth),
        accepted_tc_at=_moment(details.acceptedTCAt, "acceptedTCAt"),
    )
    try:
        account = customers.create_customer(tenant.id, new)
    except AccountExists as exists:
        call.notes.append(f"customer exists (same {exists.field_name})")
        response = jsonify(
            customer_json(exists.account, customer_tier(exists.account), True)
        )
        response.status_code = 409
        return response
    except AccountError as error:
        raise bad_request(_field_message(str(error))) from None
    return jsonify(customer_json(account, customer_tier(account), True))


@webhooks.get(f"{PREFIX}/customer/wallet")
@logged("wallet")
def customer_wallet(call: Call) -> Response:
    context = linked_request(call)
    account = _customer_from_query(context.tenant, context.query)
    return jsonify(wallet_json(wallet.wallet_for(account, utcnow())))


@webhooks.post(f"{PREFIX}/wallet/validate")
@logged("wallet.validate")
def validate_wallet(call: Call) -> Response:
    context = linked_request(call)
    payload = parse(ValidateWalletRequest, context.body)
    basket = read_basket(context.body["order"])
    account = customer_from_order(context.tenant, payload.order.customer, holds=False)
    applied_cash = _cash_used(payload.order.discounts)
    total = _order_total(payload.order, basket) + applied_cash
    check = wallet.check_cash(account, payload.wallet.amount, total, applied_cash > 0)
    return jsonify(cash_check_json(check))


@webhooks.post(f"{PREFIX}/programs")
@logged("programs")
def programs(call: Call) -> Response:
    context = linked_request(call)
    payload = parse(ProgramsRequest, context.body)
    basket = read_basket(context.body["order"])
    account = customer_from_order(context.tenant, payload.order.customer, payload.sessionId)
    return jsonify(program_listing(call, context.tenant, account, basket))


@webhooks.post(f"{PREFIX}/programs/validate")
@logged("programs.validate")
def validate_programs(call: Call) -> Response:
    context = linked_request(call)
    payload = parse(ValidateProgramsRequest, context.body)
    basket = read_basket(context.body["order"])
    account = customer_from_order(context.tenant, payload.order.customer, holds=False)
    return jsonify(
        validate_and_hold(context.tenant, account, payload.programIds, basket, payload.sessionId)
    )


@webhooks.post(f"{PREFIX}/orders", endpoint="orders")
@logged("orders")
def orders_view(call: Call) -> Response:
    context = linked_request(call)
    if context.body.get("isCancelled") is True:
        return _cancel(call, context.tenant, context.body)
    payload = parse(OrderNotification, context.body)
    basket = read_basket(context.body)
    account = customer_from_order(context.tenant, payload.customer, holds=False)
    if account is None:
        call.notes.append("customer not found: order recorded without points")
    report = orders.OrderReport(
        external_id=payload.orderId,
        account_id=account.id if account else None,
        session_id=payload.sessionId,
        program_ids=tuple(
            dict.fromkeys(d.programId for d in payload.discounts or () if d.programId)
        ),
        cash_amount=_cash_used(payload.discounts),
        payment_amount=_payment_amount(payload, basket),
        tip=(payload.tip or 0) + (payload.driverTip or 0),
        decimal_digits=basket.decimal_digits,
        sub_total=payload.subTotal or 0,
        discount_total=payload.discountTotal or 0,
        channel_order_display_id=payload.channelOrderDisplayId,
        location_id=payload.locationId or payload.location,
        channel_link_id=payload.channelLinkId,
        order_type=payload.orderType,
        ordered_at=_moment(payload.created, "created", strict=False),
        payload=context.body,
    )
    try:
        outcome = orders.record_order(context.tenant, report, utcnow())
    except orders.OrderNotRecorded:
        raise WebhookError(409, "conflict", "the order is being recorded; send it again") from None
    order = outcome.order
    if outcome.replay:
        call.notes.append("replay: already recorded, nothing changed")
    if order.shortfall_points:
        call.notes.append(f"shortfall: {order.shortfall_points} points could not be redeemed")
    return jsonify(_order_json(order, outcome.replay))


@webhooks.post(f"{PREFIX}/orders/cancel")
@logged("orders.cancel")
def cancel_order(call: Call) -> Response:
    context = linked_request(call)
    return _cancel(call, context.tenant, context.body)


@webhooks.post("/loyalty/cancelOrder")
@logged("orders.cancel")
def cancel_order_alias(call: Call) -> Response:
    context = linked_request(call)
    return _cancel(call, context.tenant, context.body)


@webhooks.get(f"{PREFIX}/tiers")
@logged("tiers")
def tiers(call: Call) -> Response:
    context = linked_request(call)
    return jsonify([tier_json(tier) for tier in tier_ladder(context.tenant.id)])


# --- shared by the provider webhooks and the channel-compatible endpoints ---


def program_listing(
    call: Call, tenant: AnyTenant, customer: CheckoutCustomer | None, basket: Basket
) -> list[dict]:
    """The programs answer; `customer` was found with the points held by other sessions."""
    offers = redemption.programs_for(
        catalogue(tenant), customer, None if basket.is_empty else basket, utcnow()
    )
    for offer in offers:
        if offer.reason:
            call.notes.append(f"program {offer.reward.program_id}: {offer.reason}")
    return [offer.reward.listed(offer.applicable) for offer in offers]


def validate_and_hold(
    tenant: AnyTenant,
    account: CheckoutCustomer | None,
    program_ids: list[str],
    basket: Basket,
    session_id: str | None,
) -> list[dict]:
    results = redemption.validate_and_hold(
        catalogue(tenant),
        tenant.id,
        account,
        program_ids,
        basket,
        _session(session_id, account),
        utcnow(),
        int(current_app.config["HOLD_TTL_SECONDS"]),
    )
    return [validation_json(result) for result in results]


def _session(session_id: str | None, account: CheckoutCustomer | None) -> str:
    """Holds belong to a checkout session; without one, each customer has a single session."""
    if session_id:
        return session_id
    return f"customer:{account.id}" if account else "none"


def _cancel(call: Call, tenant: LinkedTenant, body: dict) -> Response:
    payload = parse(CancelNotification, body)
    account = customer_from_order(tenant, payload.customer, holds=False)
    outcome = orders.cancel_order(
        tenant,
        orders.CancelReport(
            external_id=payload.orderId,
            account_id=account.id if account else None,
            reason=payload.cancellationReason,
            payload=body,
        ),
        utcnow(),
    )
    if outcome.before_order:
        call.notes.append("cancel received before its order: remembered")
    elif outcome.replay:
        call.notes.append("already cancelled: nothing changed")
    return jsonify(_order_json(outcome.order, outcome.replay))


def _order_json(order, replay: bool) -> dict:
    return {
        "orderId": order.external_id,
        "status": order.status,
        "pointsEarned": order.points_earned,
        "pointsSpent": order.points_spent,
        "cashSpent": order.cash_spent,
        "duplicate": replay,
    }


def _customer_from_query(tenant: LinkedTenant, query: dict[str, str]) -> Account:
    keys = customers.CustomerKeys(
        provider_id=query.get("providerId") or query.get("loyaltyProviderCustomerId"),
        email=query.get("email"),
        phone=query.get("phoneNumber"),
    )
    if keys.empty:
        raise bad_request("providerId, email or phoneNumber is required")
    account = customers.find_customer(tenant.id, keys)
    if account is None:
        raise NotFound()
    return account


def customer_from_order(
    tenant: AnyTenant,
    ref: CustomerRef | None,
    session_id: str | None = None,
    *,
    holds: bool = True,
) -> CheckoutCustomer | None:
    """The order's customer with the points held by other sessions than `session_id` (skip that
    sum with holds=False when the caller reads holds again under the account lock)."""
    if ref is None:
        return None
    keys = customers.CustomerKeys(
        provider_id=ref.loyaltyProviderCustomerId,
        email=ref.email,
        phone=ref.phoneNumber or ref.phoeNumber,
    )
    if keys.empty:
        return None
    return customers.find_checkout_customer(tenant.id, keys, utcnow(), session_id, holds=holds)


def read_basket(order: Any) -> Basket:
    try:
        return basket_from_order(order)
    except BasketError as error:
        raise bad_request(str(error)) from None


def _is_cash(discount: OrderDiscount) -> bool:
    """Store credit: a loyalty discount that is not a program (our wallet discount)."""
    if discount.programId:
        return False
    marks = {discount.type, discount.externalId, discount.referenceId}
    return discount.provider == "loyalty" or bool(
        marks & {"cash", "wallet", wallet.WALLET_EXTERNAL_ID}
    )


def _cash_used(discounts: list[OrderDiscount] | None) -> int:
    return sum(
        abs(d.amount if d.amount is not None else d.value or 0)
        for d in discounts or ()
        if _is_cash(d)
    )


def _order_total(order: LoyaltyOrder, basket: Basket) -> int:
    if order.paymentAmount is not None:
        return max(0, order.paymentAmount)
    if order.payment is not None and order.payment.amount is not None:
        return max(0, order.payment.amount)
    return basket.items_total + basket.delivery_cost + basket.service_charge


def _payment_amount(order: OrderNotification, basket: Basket) -> int:
    """What the customer paid: paymentAmount, else payment.amount, else the subtotal less
    discounts (discountTotal is negative), else the basket."""
    if order.paymentAmount is not None:
        return max(0, order.paymentAmount)
    if order.payment is not None and order.payment.amount is not None:
        return max(0, order.payment.amount)
    if order.subTotal is not None:
        return max(0, order.subTotal + min(0, order.discountTotal or 0))
    return basket.items_total


def _birthdate(text: str | None) -> date | None:
    if not text:
        return None
    moment = _moment(text, "dateOfBirth")
    return moment.date() if moment else None


def _moment(text: str | None, field: str, strict: bool = True) -> datetime | None:
    """An ISO 8601 date or date-time (naive = UTC); a bad one is a 400 unless `strict` is off."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: 9999-12-31T23:00-05:00 is year 10000
        moment = None
    if moment is None or not MOMENTS.start <= moment.year < MOMENTS.stop:
        if strict:
            raise bad_request(
                f"{field}: must be an ISO 8601 date from {MOMENTS.start} to {MOMENTS.stop - 1}"
            )
        return None
    return moment


def _field_message(message: str) -> str:
    """AccountError says 'phone: ...'; Deliverect calls the field phoneNumber."""
    return message.replace("phone:", "phoneNumber:", 1) if message.startswith("phone:") else message
