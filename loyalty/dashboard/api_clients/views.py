"""API clients page (owners only): the tenant's clients, issuing one, revoking one.

A new client's secret is rendered in the response to the POST that issued it, never redirected
to or flashed, so it does not end up in the session cookie, a URL or the browser cache.
"""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, url_for
from flask_login import current_user

from ...models import ApiClient
from ...services.scoping import get_for_tenant
from ...services.setup.api_clients import (
    IssuedClient,
    client_status,
    create_client,
    list_clients,
    revoke_client,
)
from ...validation import FieldErrors
from ...webhooks.urls import public_url
from ..access import current_tenant, owner_required
from ..auth.forms import EmptyForm
from ..forms import show_field_errors
from . import bp
from .forms import ApiClientForm


def _page(form: ApiClientForm, status: int = 200, issued: IssuedClient | None = None):
    tenant = current_tenant()
    response = make_response(
        render_template(
            "api_clients/index.html",
            form=form,
            tenant=tenant,
            clients=list_clients(tenant.id),
            client_status=client_status,
            issued=issued,
            token_url=public_url("oauth.token"),
            docs_url=public_url("docs.reference"),
        ),
        status,
    )
    if issued is not None:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/")
@owner_required
def index():
    return _page(ApiClientForm(formdata=None))


@bp.route("/", methods=["POST"])
@owner_required
def create():
    form = ApiClientForm()
    if form.validate_on_submit():
        try:
            issued = create_client(
                current_tenant().id,
                form.name.data,
                form.roles.data or (),
                form.kind.data,
                created_by_id=current_user.id,
            )
        except FieldErrors as error:
            show_field_errors(form, error, fallback="name")
        else:
            return _page(ApiClientForm(formdata=None), issued=issued)
    return _page(form, 422)


@bp.route("/<int:client_id>/revoke", methods=["POST"])
@owner_required
def revoke(client_id: int):
    tenant = current_tenant()
    client = get_for_tenant(ApiClient, client_id, tenant.id)
    if EmptyForm().validate_on_submit():
        revoke_client(tenant.id, client.id)
        flash(f"{client.name} is revoked: its tokens no longer work.", "success")
    return redirect(url_for("api_clients.index"), 303)
