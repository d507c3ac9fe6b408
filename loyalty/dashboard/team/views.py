"""Team page (owners only): members, adding one, roles, deactivation, signing one out."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...models import User
from ...services.scoping import get_for_tenant
from ...services.setup.team import (
    TeamError,
    create_user,
    end_all_sessions,
    set_active,
    set_role,
    team_members,
)
from ...validation import FieldErrors
from ..access import current_tenant, owner_required
from ..auth.forms import EmptyForm
from ..forms import show_field_errors
from . import bp
from .forms import MemberForm, RoleForm


def _page(form: MemberForm, status: int = 200):
    return render_template(
        "team/index.html",
        form=form,
        members=team_members(current_tenant().id),
        role_form=RoleForm,
    ), status


@bp.route("/", methods=["GET", "POST"])
@owner_required
def index():
    form = MemberForm()
    if request.method == "GET":
        return _page(form)
    if form.validate_on_submit():
        try:
            member = create_user(
                current_tenant().id,
                form.email.data,
                form.password.data,
                role=form.role.data,
                name=(form.name.data or "").strip(),
            )
        except FieldErrors as error:
            show_field_errors(form, error, fallback="email")
        else:
            flash(f"{member.email} can now sign in as {member.role}.", "success")
            return redirect(url_for("team.index"), 303)
    return _page(form, 422)


@bp.route("/<int:user_id>/role", methods=["POST"])
@owner_required
def change_role(user_id: int):
    tenant = current_tenant()
    member = get_for_tenant(User, user_id, tenant.id)
    form = RoleForm()
    if form.validate_on_submit():
        try:
            set_role(tenant.id, member.id, form.role.data, current_user)
        except TeamError as error:
            flash(f"Role not changed: {error}.", "error")
        else:
            flash(f"{member.email} is now {member.role}.", "success")
    else:
        flash("Choose owner or staff.", "error")
    return redirect(url_for("team.index"), 303)


@bp.route("/<int:user_id>/deactivate", methods=["POST"])
@owner_required
def deactivate(user_id: int):
    return _set_active(user_id, False)


@bp.route("/<int:user_id>/reactivate", methods=["POST"])
@owner_required
def reactivate(user_id: int):
    return _set_active(user_id, True)


@bp.route("/<int:user_id>/sign-out", methods=["POST"])
@owner_required
def sign_out(user_id: int):
    """A lost phone or a shared till: end every session of that member, remember-me included."""
    tenant = current_tenant()
    member = get_for_tenant(User, user_id, tenant.id)
    if EmptyForm().validate_on_submit():
        end_all_sessions(tenant.id, member.id)
        flash(f"{member.email} is signed out on every device.", "success")
    return redirect(url_for("team.index"), 303)


def _set_active(user_id: int, active: bool):
    tenant = current_tenant()
    member = get_for_tenant(User, user_id, tenant.id)
    if EmptyForm().validate_on_submit():
        try:
            set_active(tenant.id, member.id, active, current_user)
        except TeamError as error:
            flash(f"Not changed: {error}.", "error")
        else:
            if active:
                flash(f"{member.email} can sign in again.", "success")
            else:
                flash(f"{member.email} is deactivated and signed out everywhere.", "success")
    return redirect(url_for("team.index"), 303)
