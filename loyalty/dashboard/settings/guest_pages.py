"""Settings → Guest pages: the join page's address and its QR code, printable for the tables."""

from __future__ import annotations

from flask import Response

from ...members.qr import qr_document
from ...webhooks.urls import public_url
from ..access import current_tenant, owner_required
from . import bp


def join_address(slug: str) -> str:
    """The join page as guests' phones reach it (PUBLIC_BASE_URL, else the request's root)."""
    return public_url("members.join_page", tenant=slug)


@bp.route("/join-qr.svg")
@owner_required
def join_qr():
    tenant = current_tenant()
    svg = qr_document(join_address(tenant.slug), f"Join {tenant.name}")
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Content-Disposition"] = f'inline; filename="{tenant.slug}-join-qr.svg"'
    return response


@bp.context_processor
def _guest_pages() -> dict:
    """The settings page's guest-pages section names the join address."""
    return {"join_address": join_address}
