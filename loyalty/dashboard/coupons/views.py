"""The Coupons page: staff and owners look a code up and lock (reserve), unlock or redeem it."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ...models import utcnow
from ...rules.coupons import EXPIRED, LOCKED, NOT_YOURS, UNKNOWN, USED
from ...services.campaigns.coupons import (
    find_coupon,
    lock_coupon,
    redeemable_at_till,
    unlock_coupon,
    verify_coupon,
)
from ...services.campaigns.engine import redeem_at_till
from ..access import current_tenant
from ..auth.forms import EmptyForm
from ..storable import refuse_unstorable_text
from . import bp
from .forms import LookupForm

REASONS = {
    UNKNOWN: "No coupon of this restaurant has this code.",
    EXPIRED: "This coupon has expired.",
    USED: "This coupon has already been used.",
    LOCKED: "This coupon is reserved (locked) for an order in progress.",
    NOT_YOURS: "This coupon belongs to another customer.",
}

bp.before_request(refuse_unstorable_text)


@bp.route("/")
@login_required
def index():
    tenant = current_tenant()
    now = utcnow()
    form = LookupForm(request.args, meta={"csrf": False})  # a GET that changes nothing
    verdict = verify_coupon(tenant.id, form.typed, now=now) if form.typed else None
    coupon = verdict.coupon if verdict else None
    return render_template(
        "coupons/index.html",
        form=form,
        verdict=verdict,
        reason=REASONS.get(verdict.reason) if verdict else None,
        redeemable=coupon is not None and redeemable_at_till(coupon, now),
        tenant=tenant,
    )


@bp.route("/<code>/lock", methods=["POST"])
@login_required
def lock(code: str):
    tenant = current_tenant()
    coupon = _coupon_or_404(code)
    if EmptyForm().validate_on_submit():
        verdict = lock_coupon(tenant.id, coupon.code, now=utcnow())
        if verdict.valid:
            flash(
                "Reserved for this order: nobody else can use it until it is unlocked.", "success"
            )
        else:
            flash(REASONS.get(verdict.reason, "The coupon cannot be reserved."), "error")
    return redirect(url_for("coupons.index", code=coupon.code), 303)


@bp.route("/<code>/unlock", methods=["POST"])
@login_required
def unlock(code: str):
    tenant = current_tenant()
    coupon = _coupon_or_404(code)
    if EmptyForm().validate_on_submit():
        verdict = unlock_coupon(tenant.id, coupon.code, now=utcnow())
        if verdict.coupon is not None and verdict.coupon.status == "ACTIVE":
            flash("Unlocked: the customer can use the coupon again.", "success")
        else:
            flash(REASONS.get(verdict.reason, "The coupon was not locked."), "error")
    return redirect(url_for("coupons.index", code=coupon.code), 303)


@bp.route("/<code>/redeem", methods=["POST"])
@login_required
def redeem(code: str):
    """The customer hands the coupon in at the till: used now, without a Deliverect order."""
    tenant = current_tenant()
    coupon = _coupon_or_404(code)
    if EmptyForm().validate_on_submit():
        verdict = redeem_at_till(tenant.id, coupon.code, utcnow(), current_user.id)
        if verdict.valid:
            flash("Redeemed: give the customer what the coupon offers.", "success")
        else:
            flash(REASONS.get(verdict.reason, "The coupon cannot be redeemed."), "error")
    return redirect(url_for("coupons.index", code=coupon.code), 303)


def _coupon_or_404(code: str):
    """The tenant's coupon; another restaurant's code is as unknown as a made-up one."""
    coupon = find_coupon(current_tenant().id, code)
    if coupon is None:
        abort(404)
    return coupon
