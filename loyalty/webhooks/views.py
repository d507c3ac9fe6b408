"""Deliverect loyalty-provider webhooks: thin doors over services, in the spec's shapes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import current_app, jsonify, request
from werkzeug.wrappers import Response

from ..models import Account, utcnow
from ..rules import checkout as checkout_rules
from ..rules.basket import Basket, BasketError, basket_from_order
from ..services.accounts.profile import AccountExists
from ..services.checkout import customers, orders, redemption
from ..services.checkout.catalogue import VersionedTenant, catalogue
from ..services.checkout.customers import CheckoutCustomer
from ..services.deliverect import links as deliverect
from ..services.setup.tenants import tenant_by_api_key
from ..services.setup.tiers import customer_tier, tier_ladder
from ..services.wallet import balances as wallet
from ..time import parse_iso
from ..validation import FieldErrors
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
from .responses import NotFound, WebhookError, bad_request, invalid_fields, value_response
from .schemas import (
    NEW_CUSTOMER_FIELDS,
    CancelNotification,
    CustomerRef,
    LoyaltyOrder,
    Model,
    NewCustomer,
    OrderDiscount,
    OrderNotification,
    ProgramsRequest,
    Registration,
    ValidateProgramsRequest,
    ValidateWalletRequest,
    parse,
)
from .sso import bearer_guest, registration_fields
from .urls import PREFIX, webhook_urls
from .wire import cash_check_json, customer_json, tier_json, validation_json, wallet_json

# Years a date in a body may name: far dates are garbage, and adding a points validity to them
# would overflow datetime further down.
MOMENTS = range(1900, 2200)


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
        raise invalid_fields(FieldErrors({"accountId": "Field required"}))
    if not payload.loyaltyProfileId:
        raise invalid_fields(FieldErrors({"loyaltyProfileId": "must not be empty"}))
    try:
        deliverect.register_link(tenant.id, payload.deliverect_account_id, payload.loyaltyProfileId)
    except deliverect.LinkTaken:
        call.notes.append("this Deliverect account is registered to another tenant")
        raise WebhookError(
            409,
            "conflict",
            "this Deliverect account is registered to another restaurant on this loyalty server",
        ) from None
    return jsonify({**webhook_urls(), **registration_fields(tenant)})


@webhooks.route(f"{PREFIX}/customer", methods=["GET", "POST"])
@logged("customer")
def customer(call: Call) -> Response:
    context = linked_request(call)
    tenant = context.tenant
    if request.method == "GET":
        # With SSO, the access token names the guest Deliverect just signed in.
        account = bearer_guest(call, tenant.id) or _customer_from_query(tenant.id, context.query)
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
    except FieldErrors as error:
        raise invalid_fields(error, NEW_CUSTOMER_FIELDS) from None
    return jsonify(customer_json(account, customer_tier(account), True))


@webhooks.get(f"{PREFIX}/customer/wallet")
@logged("wallet")
def customer_wallet(call: Call) -> Response:
    context = linked_request(call)
    account = _customer_from_query(context.tenant.id, context.query)
    return jsonify(wallet_json(wallet.wallet_for(account, utcnow())))


@webhooks.post(f"{PREFIX}/wallet/validate")
@logged("wallet.validate")
def validate_wallet(call: Call) -> Response:
    tenant, payload, basket = order_request(call, ValidateWalletRequest)
    account = customer_from_order(tenant.id, payload.order.customer, holds=False)
    check = checkout_rules.check_store_credit(
        account.cash_balance if account else None,
        payload.wallet.amount,
        _payment(payload.order),
        basket,
        _discount_lines(payload.order.discounts),
    )
    return jsonify(cash_check_json(check))


@webhooks.post(f"{PREFIX}/programs")
@logged("programs")
def programs(call: Call) -> Response:
    tenant, payload, basket = order_request(call, ProgramsRequest)
    account = customer_from_order(tenant.id, payload.order.customer, payload.sessionId)
    listing = program_listing(call, tenant, account, basket, payload.sessionId)
    call.response_data = listing  # the log sums it up as it is, without reading the JSON back
    return jsonify(listing)


@webhooks.post(f"{PREFIX}/programs/validate")
@logged("programs.validate")
def validate_programs(call: Call) -> Response:
    tenant, payload, basket = order_request(call, ValidateProgramsRequest)
    account = customer_from_order(tenant.id, payload.order.customer, holds=False)
    return jsonify(
        validate_and_hold(tenant, account, payload.programIds, basket, payload.sessionId)
    )


@webhooks.post(f"{PREFIX}/orders", endpoint="orders")
@logged("orders")
def orders_view(call: Call) -> Response:
    context = linked_request(call)
    if context.body.get("isCancelled") is True:
        return _cancel(call, context.tenant.id, context.body)
    payload = parse(OrderNotification, context.body)
    basket = read_basket(context.body)
    account = customer_from_order(context.tenant.id, payload.customer, holds=False)
    if account is None:
        call.notes.append("customer not found: order recorded without points")
    report = orders.OrderReport(
        external_id=payload.orderId,
        account_id=account.id if account else None,
        session_id=payload.sessionId,
        program_ids=tuple(
            dict.fromkeys(d.programId for d in payload.discounts or () if d.programId)
        ),
        cash_amount=checkout_rules.store_credit_used(_discount_lines(payload.discounts)),
        payment_amount=checkout_rules.amount_paid(
            _payment(payload, payload.discountTotal), basket
        ),
        tip=(payload.tip or 0) + (payload.driverTip or 0),
        fees=basket.delivery_cost
        + basket.service_charge
        + max(0, payload.bagFee or 0)
        + max(0, payload.smallOrderFee or 0),
        decimal_digits=basket.decimal_digits,
        basket=basket,
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
    return _cancel(call, context.tenant.id, context.body)


@webhooks.post("/loyalty/cancelOrder")
@logged("orders.cancel")
def cancel_order_alias(call: Call) -> Response:
    context = linked_request(call)
    return _cancel(call, context.tenant.id, context.body)


@webhooks.get(f"{PREFIX}/tiers")
@logged("tiers")
def tiers(call: Call) -> Response:
    context = linked_request(call)
    return jsonify([tier_json(tier) for tier in tier_ladder(context.tenant.id)])


# --- shared by the provider webhooks and the channel-compatible endpoints ---


def program_listing(
    call: Call,
    tenant: VersionedTenant,
    customer: CheckoutCustomer | None,
    basket: Basket,
    session_id: str | None,
) -> list[dict]:
    """The programs answer: the rewards, then the customer's coupons (those this session may
    use); `customer` was found with the points held by other sessions."""
    offers = redemption.programs_for(
        tenant.id,
        catalogue(tenant),
        customer,
        None if basket.is_empty else basket,
        _session(session_id, customer),
        utcnow(),
    )
    for offer in offers:
        if offer.reason:
            call.notes.append(f"program {offer.program_id}: {offer.reason}")
    return [offer.listed() for offer in offers]


def validate_and_hold(
    tenant: VersionedTenant,
    account: CheckoutCustomer | None,
    program_ids: list[str],
    basket: Basket,
    session_id: str | None,
) -> list[dict]:
    results = redemption.validate_and_hold(
        tenant.id,
        catalogue(tenant),
        account,
        program_ids,
        basket,
        _session(session_id, account),
        utcnow(),
        int(current_app.config["HOLD_TTL_SECONDS"]),
    )
    return [validation_json(result) for result in results]


def _session(session_id: str | None, account: CheckoutCustomer | None) -> str:
    """Holds and coupon locks belong to a checkout session; without one, each customer has a
    single session."""
    if session_id:
        return session_id
    return f"customer:{account.id}" if account else "none"


def _cancel(call: Call, tenant_id: int, body: dict) -> Response:
    payload = parse(CancelNotification, body)
    account = customer_from_order(tenant_id, payload.customer, holds=False)
    outcome = orders.cancel_order(
        tenant_id,
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


def _customer_from_query(tenant_id: int, query: dict[str, str]) -> Account:
    keys = customers.CustomerKeys(
        provider_id=query.get("providerId") or query.get("loyaltyProviderCustomerId"),
        email=query.get("email"),
        phone=query.get("phoneNumber"),
    )
    if keys.empty:
        raise bad_request("providerId, email or phoneNumber is required")
    account = customers.find_customer(tenant_id, keys)
    if account is None:
        raise NotFound()
    return account


def customer_from_order(
    tenant_id: int,
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
    return customers.find_checkout_customer(tenant_id, keys, utcnow(), session_id, holds=holds)


def order_request(call: Call, model: type[Model]) -> tuple[deliverect.LinkedTenant, Model, Basket]:
    """For a linked tenant's call about an order: the tenant, the body read as `model`, and
    the basket the order describes."""
    context = linked_request(call)
    return context.tenant, *parsed_order(model, context.body)


def parsed_order(model: type[Model], body: dict) -> tuple[Model, Basket]:
    """The body read as `model`, and the basket its order describes."""
    payload = parse(model, body)
    return payload, read_basket(body["order"])


def read_basket(order: Any) -> Basket:
    try:
        return basket_from_order(order)
    except BasketError as error:
        raise invalid_fields(error) from None


def _discount_lines(discounts: list[OrderDiscount] | None) -> list[checkout_rules.DiscountLine]:
    return [
        checkout_rules.DiscountLine(
            program_id=d.programId,
            provider=d.provider,
            type=d.type,
            external_id=d.externalId,
            reference_id=d.referenceId,
            amount=d.amount,
            value=d.value,
        )
        for d in discounts or ()
    ]


def _payment(
    order: LoyaltyOrder | OrderNotification, discount_total: int | None = None
) -> checkout_rules.Payment:
    return checkout_rules.Payment(
        payment_amount=order.paymentAmount,
        payment=order.payment.amount if order.payment is not None else None,
        sub_total=order.subTotal,
        discount_total=discount_total,
    )


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
        moment = parse_iso(text, naive_is_utc=True)
    except (ValueError, OverflowError):  # OverflowError: 9999-12-31T23:00-05:00 is year 10000
        moment = None
    if moment is None or not MOMENTS.start <= moment.year < MOMENTS.stop:
        if strict:
            years = f"from {MOMENTS.start} to {MOMENTS.stop - 1}"
            raise invalid_fields(FieldErrors({field: f"must be an ISO 8601 date {years}"}))
        return None
    return moment
