"""Integration page: webhook URLs, registered links, the call log and the test-call button."""

from __future__ import annotations

from flask import current_app, make_response, render_template, request
from flask_login import login_required

from ...extensions import db
from ...services.deliverect.call_log import STATUS_CLASSES, CallFilter, endpoints_seen, recent_calls
from ...services.deliverect.links import (
    links_for_tenant,
    refused_registrations,
    registration_attempts_on,
)
from ...services.setup.tenants import tenant_by_api_key
from ...webhooks.simulator import Simulator, Transport, app_transport, urllib_transport
from ...webhooks.urls import registration_url, sso_urls, webhook_urls
from ..access import current_tenant, owner_required
from . import bp
from .forms import TestCallsForm

SIMULATOR_TIMEOUT_SECONDS = 5.0
# Without PUBLIC_BASE_URL, test calls run in-process; this only names them in the results.
IN_PROCESS_BASE_URL = "http://localhost"


def _filters() -> CallFilter:
    endpoint = request.args.get("endpoint") or None
    status_class = request.args.get("status") or None
    return CallFilter(
        endpoint=endpoint if endpoint and len(endpoint) <= 64 else None,
        status_class=status_class if status_class in STATUS_CLASSES else None,
    )


def _page(form: TestCallsForm, status: int = 200, **extra):
    tenant = current_tenant()
    filters = _filters()
    context = {
        "tenant": tenant,
        "form": form,
        "registration_url": registration_url(),
        "urls": {**webhook_urls(), **sso_urls(tenant)},
        "links": links_for_tenant(tenant.id),
        "refused": refused_registrations(tenant.id),
        "attempts_on_mine": registration_attempts_on(tenant.id),
        "calls": recent_calls(tenant.id, filters),
        "filters": filters,
        "endpoints": endpoints_seen(tenant.id),
        "status_classes": STATUS_CLASSES,
        "signature_mode": current_app.config["DELIVERECT_SIGNATURE_MODE"],
        **extra,
    }
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "calls":
        return render_template("integration/_calls.html", **context)
    return make_response(render_template("integration/index.html", **context), status)


@bp.route("/")
@login_required
def index():
    """Everyone on the team may look; only owners run test calls."""
    return _page(TestCallsForm(formdata=None))


@bp.route("/test-calls", methods=["POST"])
@owner_required
def test_calls():
    """Run the simulator against this very server, as Deliverect would call it."""
    form = TestCallsForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    tenant = current_tenant()
    key_owner = tenant_by_api_key(form.api_key.data.strip())
    if key_owner is None or key_owner.id != tenant.id:
        form.api_key.errors.append("This is not your current API key. Issue a new one in Settings.")
        return _page(form, 422)
    secret = tenant.webhook_secret or current_app.config.get("DELIVERECT_WEBHOOK_SECRET")
    if not secret:
        form.api_key.errors.append("Issue a webhook secret in Settings first.")
        return _page(form, 422)
    # Release this request's read transaction: the simulator's calls write from other requests.
    db.session.rollback()
    base_url, transport = _test_call_target()
    simulator = Simulator(base_url, form.api_key.data.strip(), secret, transport)
    exchanges = simulator.run(form.scenario.data)
    response = _page(
        TestCallsForm(formdata=None),
        exchanges=exchanges,
        simulator_ok=simulator.ok,
        base_url=base_url,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _test_call_target() -> tuple[str, Transport]:
    """Where test calls go, which carry the API key: PUBLIC_BASE_URL, else this app in-process.

    Never the request's own host: Host and X-Forwarded-Host are whatever the client says, and
    would send the key to any server the client names.
    """
    public = current_app.config.get("PUBLIC_BASE_URL")
    if public:
        return public.rstrip("/"), urllib_transport(SIMULATOR_TIMEOUT_SECONDS)
    app = current_app._get_current_object()
    return IN_PROCESS_BASE_URL + request.script_root, app_transport(app)
