"""Tiers pages: list with point ranges, create, edit, delete."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ...models import Tier
from ...services.scoping import get_for_tenant
from ...services.setup.tiers import (
    TierDetails,
    create_tier,
    delete_tier,
    tiers_lowest_first,
    update_tier,
)
from ...validation import FieldErrors
from ..access import current_tenant, owner_required, require_owner_to_save
from ..auth.forms import EmptyForm
from ..forms import show_field_errors
from . import bp
from .forms import TierForm


@bp.route("/")
@login_required
def index():
    return render_template(
        "tiers/index.html",
        ranges=tiers_lowest_first(current_tenant().id),
    )


@bp.route("/new", methods=["GET", "POST"])
@owner_required
def create():
    tenant = current_tenant()
    return _form_page(TierForm(), None, partial(create_tier, tenant.id), "created")


@bp.route("/<int:tier_id>", methods=["GET", "POST"])
@login_required
def edit(tier_id: int):
    tenant = current_tenant()
    tier = get_for_tenant(Tier, tier_id, tenant.id)
    require_owner_to_save()
    form = TierForm(data=TierForm.initial_data(tier)) if request.method == "GET" else TierForm()
    return _form_page(form, tier, partial(update_tier, tenant.id, tier.id), "saved")


def _form_page(form: TierForm, tier: Tier | None, save: Callable[[TierDetails], Tier], done: str):
    """The tier form; a POST saves and goes back to the list, or shows what to correct (422)."""
    status = 200
    if request.method == "POST":
        details = form.details() if form.validate_on_submit() else None
        if details is not None:
            try:
                saved = save(details)
            except FieldErrors as error:
                show_field_errors(
                    form, error, fallback="name", renamed={"multiplier_percent": "multiplier"}
                )
            else:
                flash(f"Tier “{saved.name}” {done}.", "success")
                return redirect(url_for("tiers.index"), 303)
        status = 422
    return render_template(
        "tiers/form.html", form=form, tier=tier, readonly=not current_user.is_owner
    ), status


@bp.route("/<int:tier_id>/delete", methods=["POST"])
@owner_required
def delete(tier_id: int):
    tenant = current_tenant()
    tier = get_for_tenant(Tier, tier_id, tenant.id)
    if EmptyForm().validate_on_submit():
        name = tier.name
        try:
            delete_tier(tenant.id, tier.id)
        except FieldErrors as error:
            flash(f"“{name}” was not deleted: {error.errors['tier']}", "error")
        else:
            flash(
                f"Tier “{name}” deleted. Its customers now fall in the tier below, if any.",
                "success",
            )
    return redirect(url_for("tiers.index"), 303)
