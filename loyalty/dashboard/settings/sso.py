"""Settings → Single sign-on: Deliverect SSO on or off, its environment, the client Deliverect
receives at registration, and the web shops the member pages offer under "Order online".

A new client secret is rendered in the response to the POST that issued it (no-store), never
redirected to or flashed, as the other credentials on the Settings page.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from ...models import Tenant, WebShop
from ...services.deliverect import sso
from ...validation import FieldErrors
from ...webhooks.urls import public_url
from ..access import current_tenant, owner_required
from ..auth.forms import EmptyForm
from ..forms import show_field_errors
from . import bp
from .forms import SettingsForm, SsoSettingsForm, WebShopForm
from .views import settings_page

SECTION = "sso"
NEW_SHOP = "new-shop"


@dataclass(frozen=True)
class ShopRow:
    shop: WebShop
    form: WebShopForm


@dataclass(frozen=True)
class SsoSection:
    """What the Settings page's "Single sign-on" section shows."""

    settings_form: SsoSettingsForm
    enabled: bool
    ready: bool
    client_id: str | None
    secret_hint: str | None
    token_url: str
    shops: list[ShopRow]
    new_shop_form: WebShopForm
    max_shops: int = sso.MAX_SHOPS
    issued: sso.IssuedSsoClient | None = None


def shop_form(shop: WebShop) -> WebShopForm:
    return WebShopForm(
        formdata=None,
        prefix=f"shop-{shop.id}",
        data={
            "name": shop.name,
            "channel_link_id": shop.channel_link_id,
            "shop_url": shop.shop_url,
        },
    )


def section(
    tenant: Tenant,
    *,
    settings_form: SsoSettingsForm | None = None,
    new_shop_form: WebShopForm | None = None,
    edited: tuple[int, WebShopForm] | None = None,
    issued: sso.IssuedSsoClient | None = None,
) -> SsoSection:
    """The section as saved, with the form just posted (and its errors) in its place."""
    edited_id, edited_form = edited or (None, None)
    rows = [
        ShopRow(shop, edited_form if shop.id == edited_id else shop_form(shop))
        for shop in sso.list_shops(tenant.id)
    ]
    return SsoSection(
        settings_form=settings_form
        or SsoSettingsForm(
            formdata=None, prefix=SECTION, data=SsoSettingsForm.initial_data(tenant)
        ),
        enabled=tenant.sso_enabled,
        ready=sso.sso_ready(tenant),
        client_id=tenant.sso_client_id,
        secret_hint=sso.secret_hint(tenant),
        token_url=public_url("webhooks.sso_token"),
        shops=rows,
        new_shop_form=new_shop_form or WebShopForm(formdata=None, prefix=NEW_SHOP),
        issued=issued,
    )


@bp.context_processor
def single_sign_on() -> dict:
    """The section for the Settings page, however the page is rendered (owners only)."""
    if not current_user.is_authenticated or not current_user.is_owner:
        return {}
    return {"sso": section(current_tenant())}


def _again(status: int = 422, **changed) -> Response:
    """The Settings page again, with the SSO form just posted in place."""
    tenant = current_tenant()
    form = SettingsForm(formdata=None, data=SettingsForm.initial_data(tenant))
    return settings_page(form, status, sso=section(tenant, **changed))


def _back() -> Response:
    return redirect(url_for("settings.index", _anchor=SECTION), 303)


@bp.route("/sso", methods=["POST"])
@owner_required
def sso_settings():
    tenant = current_tenant()
    form = SsoSettingsForm(prefix=SECTION)
    if not form.validate_on_submit():
        return _again(settings_form=form)
    try:
        sso.update_sso(tenant.id, enabled=form.enabled.data, environment=form.environment.data)
    except FieldErrors as error:
        show_field_errors(form, error, fallback="environment")
        return _again(settings_form=form)
    if form.enabled.data and not sso.sso_ready(tenant):
        flash("Single sign-on saved. Issue the client below so Deliverect can use it.", "success")
    else:
        flash("Single sign-on saved.", "success")
    return _back()


@bp.route("/sso/client", methods=["POST"])
@owner_required
def sso_client():
    """Issue the client, or rotate its secret; the secret is shown on this answer only."""
    if not EmptyForm().validate_on_submit():
        return _back()
    issued = sso.issue_client(current_tenant().id)
    response = _again(200, issued=issued)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/sso/shops", methods=["POST"])
@owner_required
def add_shop():
    form = WebShopForm(prefix=NEW_SHOP)
    if not form.validate_on_submit():
        return _again(new_shop_form=form)
    try:
        sso.add_shop(current_tenant().id, _details(form))
    except FieldErrors as error:
        show_field_errors(form, error, fallback="name")
        return _again(new_shop_form=form)
    flash(f"Web shop {form.name.data.strip()} added.", "success")
    return _back()


@bp.route("/sso/shops/<int:shop_id>", methods=["POST"])
@owner_required
def edit_shop(shop_id: int):
    form = WebShopForm(prefix=f"shop-{shop_id}")
    if not form.validate_on_submit():
        return _back()
    try:
        sso.update_shop(current_tenant().id, shop_id, _details(form))
    except FieldErrors as error:
        show_field_errors(form, error, fallback="name")
        return _again(edited=(shop_id, form))
    flash(f"Web shop {form.name.data.strip()} saved.", "success")
    return _back()


@bp.route("/sso/shops/<int:shop_id>/remove", methods=["POST"])
@owner_required
def remove_shop(shop_id: int):
    if EmptyForm().validate_on_submit():
        sso.remove_shop(current_tenant().id, shop_id)
        flash("Web shop removed.", "success")
    return _back()


def _details(form: WebShopForm) -> sso.ShopDetails:
    return sso.ShopDetails(form.name.data, form.channel_link_id.data, form.shop_url.data)
