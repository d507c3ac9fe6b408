"""Rewards pages: list, create, edit (with the Deliverect listing), archive and restore."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ...models import Reward, Tenant, utcnow
from ...services.checkout.catalogue import listing, tier_levels
from ...services.scoping import get_for_tenant
from ...services.setup.rewards import (
    RewardDetails,
    archive_reward,
    count_archived,
    create_reward,
    restore_reward,
    rewards_for,
    update_reward,
)
from ...validation import FieldErrors
from ..access import current_tenant, owner_required, require_owner_to_save
from ..auth.forms import EmptyForm
from ..forms import show_field_errors
from . import bp
from .forms import TYPE_LABELS, RewardForm


def _form(tenant: Tenant, **kwargs) -> RewardForm:
    return RewardForm(tier_levels(tenant.id), tenant.currency, **kwargs)


def _saving() -> bool:
    """A POST saves, except from the refresh button: without JavaScript the type select cannot
    swap fields, so that button only redraws the form."""
    return request.method == "POST" and "refresh" not in request.form


def _save(
    form: RewardForm, tenant: Tenant, save: Callable[[RewardDetails], Reward], done: str, then: str
) -> Response | None:
    """Save the posted reward and redirect to `then`; None when there is nothing to save or the
    form shows what to correct."""
    if not _saving():
        return None
    details = form.details(tenant.decimal_digits) if form.validate_on_submit() else None
    if details is None:
        return None
    try:
        reward = save(details)
    except FieldErrors as error:
        show_field_errors(form, error, fallback="title")
        return None
    flash(f"Reward “{reward.title}” {done}.", "success")
    return redirect(then, 303)


@bp.route("/")
@login_required
def index():
    tenant = current_tenant()
    archived = request.args.get("archived") == "1"
    return render_template(
        "rewards/index.html",
        rewards=rewards_for(tenant.id, archived=archived),
        archived=archived,
        archived_count=count_archived(tenant.id),
        type_labels=TYPE_LABELS,
        now=utcnow(),
    )


@bp.route("/new", methods=["GET", "POST"])
@owner_required
def create():
    tenant = current_tenant()
    form = _form(tenant)
    then = url_for("rewards.index")
    saved = _save(form, tenant, partial(create_reward, tenant.id), "created", then)
    if saved is not None:
        return saved
    return render_template("rewards/new.html", form=form), 422 if _saving() else 200


@bp.route("/<int:reward_id>", methods=["GET", "POST"])
@login_required
def edit(reward_id: int):
    tenant = current_tenant()
    reward = get_for_tenant(Reward, reward_id, tenant.id)
    require_owner_to_save()
    if request.method == "GET":
        form = _form(tenant, data=RewardForm.initial_data(reward, tenant.decimal_digits))
    else:
        form = _form(tenant)
    then = url_for("rewards.edit", reward_id=reward.id)
    saved = _save(form, tenant, partial(update_reward, tenant.id, reward.id), "saved", then)
    if saved is not None:
        return saved
    return render_template(
        "rewards/edit.html",
        form=form,
        reward=reward,
        listing_json=json.dumps(listing(reward), indent=2, ensure_ascii=False),
        readonly=not current_user.is_owner,
        now=utcnow(),
    ), 422 if _saving() else 200


@bp.route("/fields")
@login_required
def fields():
    """The type-specific fields, redrawn by htmx when the type select changes."""
    form = _form(current_tenant(), formdata=request.args, meta={"csrf": False})
    return render_template("rewards/_type_fields.html", form=form)


@bp.route("/<int:reward_id>/archive", methods=["POST"])
@owner_required
def archive(reward_id: int):
    return _set_archived(reward_id, True)


@bp.route("/<int:reward_id>/restore", methods=["POST"])
@owner_required
def restore(reward_id: int):
    return _set_archived(reward_id, False)


def _set_archived(reward_id: int, archived: bool):
    tenant = current_tenant()
    reward = get_for_tenant(Reward, reward_id, tenant.id)
    if EmptyForm().validate_on_submit():
        if archived:
            archive_reward(tenant.id, reward.id)
            flash(f"Reward “{reward.title}” archived: customers no longer see it.", "success")
        else:
            restore_reward(tenant.id, reward.id)
            flash(f"Reward “{reward.title}” restored: customers can see it again.", "success")
    return redirect(url_for("rewards.index"), 303)
