"""Deliverect's channel-side loyalty endpoints, served for a restaurant's own web shop (seed 004).

Same answers as the provider webhooks, but the shop authenticates with the tenant's API key as a
Bearer token, and errors follow the channel API: `{"error", "http_code", "description"}`, with
422 `invalid_order_type` and 404 `loyalty customer not found`.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from werkzeug.wrappers import Response

from ..models import Tenant
from ..rules.basket import Basket
from ..services.checkout.customers import CheckoutCustomer
from ..services.setup.tenants import tenant_by_api_key
from ..validation import FieldErrors
from . import webhooks
from .context import Call, json_body, logged
from .responses import WebhookError, bad_request, invalid_fields
from .schemas import ChannelRetrieve, ChannelValidate, Model
from .views import customer_from_order, parsed_order, program_listing, validate_and_hold

ORDER_TYPES = range(0, 6)  # 0 unknown, 1 pickup, 2 delivery, 3 eat-in, 4 curbside, 5 drive-thru


@webhooks.post("/loyalty/<channel_link_id>/programs/retrieve")
@logged("channel.programs")
def channel_programs(call: Call, channel_link_id: str) -> Response:
    tenant, payload, basket = _authorised(call, ChannelRetrieve)
    account = _known_customer(tenant, payload.order.customer, payload.sessionId)
    return jsonify(program_listing(call, tenant, account, basket, payload.sessionId))


@webhooks.post("/loyalty/<channel_link_id>/programs/validate")
@logged("channel.programs.validate")
def channel_validate(call: Call, channel_link_id: str) -> Response:
    tenant, payload, basket = _authorised(call, ChannelValidate)
    account = _known_customer(tenant, payload.order.customer, holds=False)
    return jsonify(
        validate_and_hold(tenant, account, payload.programIds, basket, payload.sessionId)
    )


def _authorised(call: Call, model: type[Model]) -> tuple[Tenant, Model, Basket]:
    """The tenant behind the Bearer API key, the body read as `model` once its orderType is
    checked, and the basket its order describes."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    tenant = tenant_by_api_key(token.strip()) if scheme.lower() == "bearer" else None
    if tenant is None:
        raise WebhookError(
            401, "unauthorized", "a valid 'Authorization: Bearer <API key>' is required"
        )
    call.tenant_id = tenant.id
    body = json_body(request.get_data(cache=True))
    call.request_data = body if isinstance(body, dict) else None
    if not isinstance(body, dict):
        raise bad_request("request body must be a JSON object")
    order = body.get("order")
    if not isinstance(order, dict):
        raise invalid_fields(FieldErrors({"order": "Field required"}))
    if not _valid_order_type(order.get("orderType")):
        raise WebhookError(
            422, "invalid_order_type", "order.orderType must be one of 0, 1, 2, 3, 4, 5"
        )
    return tenant, *parsed_order(model, body)


def _valid_order_type(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value in ORDER_TYPES


def _known_customer(
    tenant: Tenant, ref, session_id: str | None = None, *, holds: bool = True
) -> CheckoutCustomer:
    account = customer_from_order(tenant.id, ref, session_id, holds=holds)
    if account is None:
        raise WebhookError(404, "loyalty customer not found", "loyalty customer not found")
    return account
