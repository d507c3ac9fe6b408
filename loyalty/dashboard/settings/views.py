"""Settings page: general settings, the Deliverect API key and webhook secret, and the web
origins allowed to call the JSON API.

A new key or secret is rendered in the response to the POST that issued it, never redirected to
or flashed, so it does not end up in the session cookie, a URL or the browser cache.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, make_response, redirect, render_template, request, url_for

from ...services.setup.settings import stored_amounts, update_allowed_origins, update_settings
from ...services.setup.tenants import rotate_api_key, rotate_webhook_secret
from ...validation import FieldErrors
from ..access import current_tenant, owner_required
from ..auth.forms import EmptyForm
from ..forms import show_field_errors
from . import bp
from .forms import AllowedOriginsForm, SettingsForm


def settings_page(
    form: SettingsForm,
    status: int = 200,
    origins_form: AllowedOriginsForm | None = None,
    **issued: str,
):
    tenant = current_tenant()
    if origins_form is None:
        origins_form = AllowedOriginsForm(
            formdata=None, data=AllowedOriginsForm.initial_data(tenant)
        )
    response = make_response(
        render_template(
            "settings/index.html",
            form=form,
            origins_form=origins_form,
            tenant=tenant,
            amounts_in_use=stored_amounts(tenant.id),
            **issued,
        ),
        status,
    )
    if issued:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/", methods=["GET", "POST"])
@owner_required
def index():
    tenant = current_tenant()
    if request.method == "GET":
        return settings_page(SettingsForm(data=SettingsForm.initial_data(tenant)))
    form = SettingsForm()
    if form.validate_on_submit():
        try:
            update_settings(tenant.id, form.settings())
        except FieldErrors as error:
            show_field_errors(form, error, fallback="name")
        else:
            flash("Settings saved.", "success")
            return redirect(url_for("settings.index"), 303)
    return settings_page(form, 422)


@bp.route("/allowed-origins", methods=["POST"])
@owner_required
def allowed_origins():
    tenant = current_tenant()
    origins_form = AllowedOriginsForm()
    if origins_form.validate_on_submit():
        try:
            update_allowed_origins(tenant.id, origins_form.lines())
        except FieldErrors as error:
            show_field_errors(origins_form, error, fallback="api_allowed_origins")
        else:
            flash("Allowed web origins saved.", "success")
            return redirect(url_for("settings.index", _anchor="api-origins"), 303)
    form = SettingsForm(formdata=None, data=SettingsForm.initial_data(tenant))
    return settings_page(form, 422, origins_form)


@bp.route("/api-key", methods=["POST"])
@owner_required
def new_api_key():
    return _issue("new_api_key", rotate_api_key)


@bp.route("/webhook-secret", methods=["POST"])
@owner_required
def new_webhook_secret():
    return _issue("new_webhook_secret", rotate_webhook_secret)


def _issue(name: str, rotate: Callable[[int], str]):
    """Replace a credential and show the new one on this response only, beside saved settings."""
    tenant = current_tenant()
    form = SettingsForm(formdata=None, data=SettingsForm.initial_data(tenant))
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("settings.index"), 303)
    return settings_page(form, **{name: rotate(tenant.id)})
