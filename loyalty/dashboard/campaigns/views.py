"""Campaign pages: the list and its starters, the editor (htmx for small edits, plain POSTs
without JavaScript), the live preview, initialise / finalise / delete, and the campaign page."""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import escape
from werkzeug.exceptions import NotFound

from ...models import Campaign, utcnow
from ...rules import campaigns as definitions
from ...services.campaigns.lifecycle import finalise_campaign, initialise_campaign
from ...services.campaigns.selection import RECENT_DAYS, preview, preview_campaign
from ...services.campaigns.stats import campaign_stats
from ...services.campaigns.store import (
    campaign_json,
    campaign_members,
    campaign_summary,
    campaign_wire,
    create_campaign,
    delete_campaign,
    get_campaign,
    list_campaigns,
    rules_campaign,
    save_campaign,
)
from ...validation import FieldErrors
from ..access import current_tenant, owner_required, require_owner_to_save
from ..auth.forms import EmptyForm
from ..storable import refuse_unstorable_text
from . import bp
from .forms import (
    CAMPAIGN_TYPE_LABELS,
    KNOWN_COUNTERS,
    STATE_TYPE_LABELS,
    CampaignForm,
    ConstraintForm,
    initial_data,
)
from .starters import STARTERS

_CONSTRAINT_PREFIX = re.compile(r"(states-\d{1,2}-)?constraints-\d{1,2}")
EMPTY_CAMPAIGN = {
    "id": "",
    "type": "STANDARD",
    "constraints": [],
    "states": [],
    "notifications": [],
}

bp.before_request(refuse_unstorable_text)


def _htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def _form(**kwargs) -> CampaignForm:
    return CampaignForm(current_tenant().currency, **kwargs)


@bp.route("/")
@login_required
def index():
    return render_template(
        "campaigns/index.html",
        summaries=list_campaigns(current_tenant().id),
        starters=STARTERS.values(),
        type_labels=CAMPAIGN_TYPE_LABELS,
    )


@bp.route("/starters/<name>", methods=["POST"])
@owner_required
def start(name: str):
    """A new draft from one of the starters, under the first free id of its name."""
    starter = STARTERS.get(name)
    if starter is None:
        abort(404)
    tenant = current_tenant()
    taken = {summary.campaign.key for summary in list_campaigns(tenant.id)}
    for key in (starter.key, *(f"{starter.key}-{n}" for n in range(2, 10_000))):
        if key in taken:
            continue
        try:
            saved = create_campaign(tenant.id, {**starter.definition, "id": key}, utcnow())
        except FieldErrors as error:
            if "id" not in error.errors:
                raise
            continue  # taken a moment ago by another press: try the next id
        break
    else:
        abort(409)
    flash(f"Draft “{saved.name}” created from the {starter.title.lower()} starter.", "success")
    return redirect(url_for("campaigns.edit", key=saved.key), 303)


@bp.route("/new", methods=["GET", "POST"])
@owner_required
def create():
    return _editor(None)


@bp.route("/<key>/edit", methods=["GET", "POST"])
@login_required
def edit(key: str):
    row = get_campaign(current_tenant().id, key)
    require_owner_to_save()
    return _editor(row)


def _editor(row: Campaign | None):
    """GET: the stored campaign. POST: `action` says what the press asked for: save, preview
    (without JavaScript), or a list change (add-state, remove-constraint-2, ...); htmx posts
    without an action only redraw (a type changed)."""
    tenant = current_tenant()
    if request.method == "GET":
        wire = campaign_json(row) if row is not None else EMPTY_CAMPAIGN
        return _editor_page(_form(data=initial_data(wire, tenant.decimal_digits)), row)
    form = _form()
    action = request.form.get("action") or ("redraw" if _htmx() else "save")
    if action == "save":
        saved = _save(form, row)
        if saved is not None:
            flash(f"Campaign “{saved.name or saved.key}” saved.", "success")
            return redirect(url_for("campaigns.edit", key=saved.key), 303)
        return _editor_page(form, row, status=422)
    if action == "preview":
        return _editor_page(form, row, panel=_preview_panel(form, row))
    changed = form.changed(action)
    if changed is not None:
        form = _form(formdata=None, data=changed)
    return _editor_page(form, row)


def _save(form: CampaignForm, row: Campaign | None) -> Campaign | None:
    """Save what the form holds (a draft may be incomplete); None when it shows problems."""
    tenant = current_tenant()
    wire, problems = form.to_wire(tenant.decimal_digits)
    if row is not None:
        wire["id"] = row.key
    if not problems:
        try:
            if row is None:
                return create_campaign(tenant.id, wire, utcnow())
            return save_campaign(tenant.id, wire, utcnow(), row.key)
        except FieldErrors as error:
            problems = error.errors
    else:
        try:
            definitions.parse_campaign(wire, draft=True)
        except FieldErrors as error:
            problems = {**error.errors, **problems}
    form.show_problems(problems)
    return None


def _editor_page(form: CampaignForm, row: Campaign | None, status: int = 200, **context):
    readonly = not current_user.is_owner or (row is not None and row.status == "finalised")
    template = "campaigns/_editor.html" if _htmx() else "campaigns/edit.html"
    response = make_response(
        render_template(
            template,
            form=form,
            campaign=row,
            readonly=readonly,
            action_url=url_for("campaigns.edit", key=row.key)
            if row
            else url_for("campaigns.create"),
            state_type_labels=STATE_TYPE_LABELS,
            max_states=definitions.MAX_STATES,
            max_constraints=definitions.MAX_CONSTRAINTS,
            max_notifications=definitions.MAX_NOTIFICATIONS,
            recent_days=RECENT_DAYS,
            known_counters=KNOWN_COUNTERS,
            problem_count=form.count_problems(),
            **{"panel": None, **context},
        ),
        status,
    )
    response.vary.add("HX-Request")
    if _htmx():
        response.headers["HX-Trigger"] = "campaign-changed"
    return response


def _preview_panel(form: CampaignForm, row: Campaign | None) -> dict:
    """Who the campaign in the form selects now: recorded as the campaign's preview when the
    form holds what is saved and an owner asked (the API's previewCampaign), else a dry run."""
    tenant = current_tenant()
    now = utcnow()
    wire, problems = form.to_wire(tenant.decimal_digits)
    if row is not None:
        wire["id"] = row.key
    try:
        campaign = definitions.parse_campaign(wire, draft=True)
    except FieldErrors as error:
        problems = {**error.errors, **problems}
    if problems:
        return {"problems": len(problems)}
    saved = row if row is not None else _saved(tenant.id, campaign.id)
    if saved is not None and current_user.is_owner and campaign == rules_campaign(saved):
        return {
            "result": preview(tenant.id, saved.key, now),
            "recorded": True,
            "campaign": campaign,
        }
    return {"result": preview_campaign(tenant.id, campaign, now), "campaign": campaign}


def _saved(tenant_id: int, key: str) -> Campaign | None:
    try:
        return get_campaign(tenant_id, key) if key else None
    except NotFound:
        return None


@bp.route("/editor/preview", methods=["POST"])
@login_required
def preview_form():
    """The live preview of what the editor holds, redrawn by htmx after edits."""
    response = make_response(
        render_template(
            "campaigns/_preview.html", panel=_preview_panel(_form(), None), recent_days=RECENT_DAYS
        )
    )
    response.vary.add("HX-Request")
    return response


@bp.route("/<key>/preview")
@login_required
def preview_saved(key: str):
    """The preview of the saved campaign, for staff (who see the editor read-only)."""
    tenant = current_tenant()
    row = get_campaign(tenant.id, key)
    campaign = rules_campaign(row)
    panel = {"result": preview_campaign(tenant.id, campaign, utcnow()), "campaign": campaign}
    return render_template("campaigns/_preview.html", panel=panel, recent_days=RECENT_DAYS)


@bp.route("/editor/sentence", methods=["POST"])
@login_required
def sentence():
    """The sentence under one constraint, redrawn when it changes."""
    prefix = request.args.get("prefix", "")
    if not _CONSTRAINT_PREFIX.fullmatch(prefix):
        abort(404)
    return str(escape(ConstraintForm(request.form, prefix=prefix).sentence()))


@bp.route("/editor/outline", methods=["POST"])
@login_required
def outline():
    """The drawn flow of what the editor holds, redrawn after edits."""
    return render_template("campaigns/_outline.html", form=_form())


@bp.route("/<key>")
@login_required
def show(key: str):
    tenant = current_tenant()
    summary = campaign_summary(tenant.id, key)
    row = summary.campaign
    wire = campaign_json(row)
    counts = summary.members_per_state
    states = [
        {
            "id": state["id"],
            "type": state["type"],
            "members": counts.get(state["id"], 0),
            "reached": state.get("stats", 0),
            "finished": wire["stateStats"].get(state["id"], 0),
        }
        for state in wire["states"]
    ]
    chosen = request.args.get("state") or (states[0]["id"] if states else None)
    members = None
    if chosen is not None and chosen in {state["id"] for state in states}:
        members = campaign_members(tenant.id, key, chosen, _page_arg())
    context = {
        "campaign": row,
        "summary": summary,
        "wire": wire,
        "states": states,
        "most": max([state["members"] for state in states] or [0]),
        "chosen": chosen,
        "members": members,
        "caps": _cap_messages(summary.caps_reached),
        "state_type_labels": STATE_TYPE_LABELS,
        "type_labels": CAMPAIGN_TYPE_LABELS,
    }
    if _htmx() and request.headers.get("HX-Target") == "members":
        response = make_response(render_template("campaigns/_members.html", **context))
    else:
        stats = campaign_stats(tenant.id, key, utcnow())
        response = make_response(
            render_template("campaigns/show.html", **context, stats=stats, tenant=tenant)
        )
    response.vary.add("HX-Request")
    return response


def _page_arg() -> int:
    text = request.args.get("page", "1")
    return int(text) if text.isascii() and text.isdigit() and len(text) < 7 else 1


CAP_WORDS = {
    "maxCoupons": "The coupon limit is reached: no more coupons are issued.",
    "maxRedemptions": "The redemption limit is reached: its coupons can no longer be used.",
    "maxPoints": "The points limit is reached: no more points are credited.",
}


def _cap_messages(reached: tuple[str, ...]) -> list[str]:
    return [CAP_WORDS[name] for name in reached if name in CAP_WORDS]


@bp.route("/<key>/initialise", methods=["GET", "POST"])
@owner_required
def initialise(key: str):
    """Confirm, then initialise; refused with every reason when the campaign is not complete."""
    tenant = current_tenant()
    row = get_campaign(tenant.id, key)
    if request.method == "POST" and EmptyForm().validate_on_submit():
        try:
            initialise_campaign(tenant.id, key, utcnow(), by=current_user.email)
        except FieldErrors as error:
            return _confirm_page("initialise", row, error.errors, 422)
        flash(f"Campaign “{row.name}” is running.", "success")
        return redirect(url_for("campaigns.show", key=key), 303)
    return _confirm_page("initialise", row, _initialise_problems(row))


def _initialise_problems(row: Campaign) -> Mapping[str, str]:
    if row.status != "draft":
        return {"campaign": f"is already {row.status}"}
    try:
        definitions.parse_campaign(campaign_wire(row), draft=False)
    except FieldErrors as error:
        return error.errors
    return {}


@bp.route("/<key>/finalise", methods=["GET", "POST"])
@owner_required
def finalise(key: str):
    tenant = current_tenant()
    row = get_campaign(tenant.id, key)
    if request.method == "POST" and EmptyForm().validate_on_submit():
        try:
            finalise_campaign(tenant.id, key, utcnow())
        except FieldErrors as error:
            return _confirm_page("finalise", row, error.errors, 422)
        flash(f"Campaign “{row.name}” is finalised: unused coupons have expired.", "success")
        return redirect(url_for("campaigns.show", key=key), 303)
    problems = {} if row.status == "running" else {"campaign": f"is {row.status}"}
    return _confirm_page("finalise", row, problems)


def _confirm_page(step: str, row: Campaign, problems: Mapping[str, str], status: int = 200):
    tenant = current_tenant()
    form = _form(formdata=None, data=initial_data(campaign_wire(row), tenant.decimal_digits))
    return render_template(
        "campaigns/confirm.html",
        step=step,
        campaign=row,
        reasons=form.describe_problems(problems),
        button=EmptyForm(),
    ), status


@bp.route("/<key>/delete", methods=["POST"])
@owner_required
def delete(key: str):
    tenant = current_tenant()
    row = get_campaign(tenant.id, key)
    if EmptyForm().validate_on_submit():
        try:
            delete_campaign(tenant.id, key)
        except FieldErrors as error:
            flash(
                f"Campaign “{row.name}” {error.errors.get('campaign', 'cannot be deleted')}.",
                "error",
            )
            return redirect(url_for("campaigns.show", key=key), 303)
        flash(f"Draft “{row.name or key}” deleted.", "success")
    return redirect(url_for("campaigns.index"), 303)
