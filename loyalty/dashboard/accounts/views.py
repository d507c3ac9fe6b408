"""Account pages: live search, the account page and what the team does to an account."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlencode

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from ...models import Account, Order, utcnow
from ...rules.tiers import next_tier, tier_for
from ...services.accounts.erasure import ErasureError, erase_account
from ...services.accounts.events import record_relation_event, timeline
from ...services.accounts.history import ledger_page, orders_page
from ...services.accounts.merge import MergeError, merge_accounts
from ...services.accounts.profile import find_account, update_profile
from ...services.accounts.search import (
    COUNT_CAP,
    SORTS,
    count_matching,
    month_names,
    parse_criteria,
    search_accounts,
)
from ...services.accounts.tags import parse_properties, parse_tags, set_tags_and_properties
from ...services.campaigns.account_campaigns import account_coupons, account_memberships
from ...services.checkout.catalogue import tier_levels
from ...services.checkout.orders import (
    OrderNotCredited,
    OrderNotDismissed,
    credit_held_order,
    dismiss_held_order,
    held_orders_page,
)
from ...services.checkout.redemption import account_activity
from ...services.reporting.exports import ExportSpec, export_csv
from ...services.scoping import get_for_tenant, parse_row_id
from ...services.wallet.adjustments import adjust_points, new_adjustment_token
from ...services.wallet.ledger import owed_points
from ...validation import FieldErrors
from ..access import current_tenant, owner_required
from ..auth.forms import EmptyForm
from ..campaigns.forms import STATE_TYPE_LABELS
from ..forms import show_field_errors
from ..storable import refuse_unstorable_text
from . import bp
from .forms import RELATION_LABELS, AdjustForm, MergeForm, ProfileForm, RelationForm, TagsForm

log = logging.getLogger(__name__)

# Why a membership moved (MembershipEvent.reason), in the restaurant's words.
TRANSITION_LABELS = {
    "join": "joined",
    "coupon_redeemed": "coupon used",
    "coupon_expired": "coupon expired",
    "order": "ordered",
    "wallet": "points credited",
    "message": "read the message",
    "account": "account matched",
    "timeout": "timed out",
    "reversed": "order cancelled",
}

# The account page's paginated sections: name -> (template, loader).
SECTIONS = {
    "ledger": ("accounts/_ledger.html", ledger_page),
    "orders": ("accounts/_orders.html", orders_page),
    "events": ("accounts/_events.html", timeline),
}


def _phone_region() -> str | None:
    """Where numbers typed without a country code are assumed to be (None: must have one)."""
    return current_app.config["DEFAULT_PHONE_REGION"]


def _wants_rows_only() -> bool:
    """htmx asking for the results (typing, filters, paging), not restoring a whole page."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
        and request.headers.get("HX-Target") == "results"
    )


bp.before_request(refuse_unstorable_text)


@bp.route("/")
@login_required
def index():
    tenant = current_tenant()
    criteria, errors = parse_criteria(request.args)
    page = _page_arg("page", limit=100_000)
    # The address to show, share and bookmark: only what was asked for, in a stable order.
    args = criteria.to_args() | ({"page": str(page)} if page > 1 else {})
    canonical = url_for("accounts.index") + (f"?{urlencode(args)}" if args else "")
    submitted_blanks = any(value == "" for value in request.args.values())
    if submitted_blanks and not errors and not request.headers.get("HX-Request"):
        return redirect(canonical)  # the filter form without JavaScript sends every field
    results = None
    if not errors:
        results = search_accounts(tenant.id, criteria, page=page, default_region=_phone_region())
    levels = tier_levels(tenant.id)
    context = {
        "criteria": criteria,
        "errors": errors,
        "results": results,
        "levels": levels,
        "tiers": {
            account.id: tier_for(account.lifetime_points, levels)
            for account in (results.accounts if results else [])
        },
    }
    template = "accounts/_results.html" if _wants_rows_only() else "accounts/index.html"
    response = Response(render_template(template, sorts=SORTS, months=month_names(), **context))
    # The same URL answers a page or its rows: caches must keep them apart.
    response.headers["Vary"] = "HX-Request, HX-Target"
    if _wants_rows_only() and not errors:
        response.headers["HX-Push-Url"] = canonical  # not the form's empty fields
    return response


@bp.route("/count")
@login_required
def count():
    """How many accounts the search matches, loaded after the results (stops at COUNT_CAP)."""
    criteria, errors = parse_criteria(request.args)
    if errors:
        abort(400)
    matches = count_matching(
        current_tenant().id, criteria, cap=COUNT_CAP, default_region=_phone_region()
    )
    return render_template(
        "accounts/_count.html",
        criteria=criteria,
        count=min(matches, COUNT_CAP),
        capped=matches > COUNT_CAP,
    )


@bp.route("/export.csv")
@owner_required
def export():
    return _export(contacts=False)


@bp.route("/contacts.csv")
@owner_required
def export_contacts():
    return _export(contacts=True)


def _export(contacts: bool) -> Response:
    tenant = current_tenant()
    criteria, errors = parse_criteria(request.args)
    if errors:
        abort(400, "The search has errors: " + "; ".join(f"{k} {v}" for k, v in errors.items()))
    spec = ExportSpec(tenant, criteria, contacts=contacts)
    log.info(
        "user %s exported %s of tenant %s",
        current_user.id,
        "contacts" if contacts else "accounts",
        tenant.id,
    )
    csv = export_csv(spec, default_region=_phone_region(), bom=True)
    response = Response(stream_with_context(csv), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{spec.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:account_id>")
@login_required
def show(account_id: int):
    account = get_for_tenant(Account, account_id, current_tenant().id)
    return _page(account)


def _page(account: Account, status: int = 200, **forms):
    tenant = current_tenant()
    levels = tier_levels(tenant.id)
    tags_form = TagsForm(
        data={
            "tags": ", ".join(account.tag_names),
            "properties": "\n".join(f"{k}: {v}" for k, v in (account.properties or {}).items()),
        }
    )
    adjust_form = AdjustForm()
    adjust_form.token.data = new_adjustment_token()
    context = {
        "account": account,
        "tenant": tenant,
        "tier": tier_for(account.lifetime_points, levels),
        "next": next_tier(account.lifetime_points, levels),
        "tiers": {level.tier_id: level for level in levels},
        "profile_form": forms.pop("profile_form", None) or ProfileForm.for_account(account),
        "tags_form": forms.pop("tags_form", None) or tags_form,
        "adjust_form": forms.pop("adjust_form", None) or adjust_form,
        "relation_form": forms.pop("relation_form", None) or RelationForm(),
        "relation_labels": RELATION_LABELS,
        "state_type_labels": STATE_TYPE_LABELS,
        "transition_labels": TRANSITION_LABELS,
        "owed": owed_points(tenant.id, account),
        "redemption_activity": account_activity(tenant.id, account.id, utcnow()),
        "memberships": account_memberships(tenant.id, account.id),
        "coupons": account_coupons(tenant.id, account.id),
        "merged_into": (
            get_for_tenant(Account, account.merged_into_id, tenant.id)
            if account.merged_into_id
            else None
        ),
    }
    for name, (_template, loader) in SECTIONS.items():
        context[name] = loader(tenant.id, account.id, _page_arg(f"{name}_page"))
    return render_template("accounts/show.html", **context), status


def _page_arg(name: str, limit: int = 1_000_000) -> int:
    """The page asked for in the query; a missing, malformed or absurd number reads as page 1."""
    value = request.args.get(name, "1")
    if not (value.isascii() and value.isdigit() and len(value) <= len(str(limit))):
        return 1  # "²" is a digit to str.isdigit but not to int()
    return int(value) if 0 < int(value) < limit else 1


@bp.route("/<int:account_id>/<any(ledger, orders, events):section>")
@login_required
def section(account_id: int, section: str):
    """One page of the ledger, orders or timeline: htmx swaps it into the account page."""
    tenant = current_tenant()
    account = get_for_tenant(Account, account_id, tenant.id)
    if request.headers.get("HX-Request") != "true":
        return redirect(
            url_for(
                "accounts.show", account_id=account.id, **{f"{section}_page": _page_arg("page")}
            )
        )
    template, loader = SECTIONS[section]
    return render_template(
        template,
        account=account,
        tenant=tenant,
        relation_labels=RELATION_LABELS,
        **{section: loader(tenant.id, account.id, _page_arg("page"))},
    )


@bp.route("/<int:account_id>/profile", methods=["POST"])
@login_required
def edit_profile(account_id: int):
    account = get_for_tenant(Account, account_id, current_tenant().id)
    form = ProfileForm()

    def save() -> str:
        update_profile(account.tenant_id, account.id, form.profile())
        return "Profile saved."

    return _submit(account, "profile_form", form, save, fallback="card")


def _submit(
    account: Account,
    form_name: str,
    form: FlaskForm,
    save: Callable[[], str | None],
    *,
    fallback: str,
):
    """A form of the account page: when valid, `save` calls the service and the page reloads
    flashing what `save` says, if anything; otherwise the page again with the form's errors
    under its fields (422)."""
    if form.validate_on_submit():
        try:
            done = save()
        except FieldErrors as error:
            show_field_errors(form, error, fallback=fallback)
        else:
            if done:
                flash(done, "success")
            return redirect(url_for("accounts.show", account_id=account.id), 303)
    return _page(account, 422, **{form_name: form})


@bp.route("/<int:account_id>/tags", methods=["POST"])
@login_required
def edit_tags(account_id: int):
    tenant = current_tenant()
    account = get_for_tenant(Account, account_id, tenant.id)
    form = TagsForm()
    if form.validate_on_submit():
        tags = properties = None
        try:
            tags = parse_tags(form.tags.data)
        except ValueError as error:
            form.tags.errors.append(str(error))
        try:
            properties = parse_properties(form.properties.data)
        except ValueError as error:
            form.properties.errors.append(str(error))
        if tags is not None and properties is not None:
            set_tags_and_properties(tenant.id, account.id, tags, properties)
            flash("Tags and properties saved.", "success")
            return redirect(url_for("accounts.show", account_id=account.id), 303)
    return _page(account, 422, tags_form=form)


@bp.route("/<int:account_id>/adjust", methods=["POST"])
@login_required
def adjust(account_id: int):
    """Staff adjust points at the counter too: every adjustment names who made it and why."""
    tenant = current_tenant()
    account = get_for_tenant(Account, account_id, tenant.id)
    form = AdjustForm()

    def save() -> str | None:
        result = adjust_points(
            tenant.id,
            account.id,
            form.points.data,
            form.reason.data,
            current_user.id,
            form.token.data,
            by_owner=current_user.is_owner,
        )
        if result.repeated:
            return None  # a second click of the same form: nothing new to say
        return f"{form.points.data:+,} points: {form.reason.data.strip()}"

    return _submit(account, "adjust_form", form, save, fallback="points")


@bp.route("/<int:account_id>/orders/<int:order_id>/credit", methods=["POST"])
@owner_required
def credit_order(account_id: int, order_id: int):
    """An owner looked at an order held for review and credits its points anyway."""
    tenant = current_tenant()
    account = get_for_tenant(Account, account_id, tenant.id)
    order = get_for_tenant(Order, order_id, tenant.id)
    if order.account_id != account.id:
        abort(404)
    _settle_held_order(tenant, order, credit_held_order, OrderNotCredited, _credited)
    return redirect(url_for("accounts.show", account_id=account.id, _anchor="orders"), 303)


@bp.route("/held-orders")
@login_required
def held_orders():
    """Every order held for review, newest first: the team sees them, owners settle them."""
    tenant = current_tenant()
    orders = held_orders_page(tenant.id, _page_arg("page"))
    if not orders.items and orders.page > 1:
        return redirect(_held_orders_url(orders.pages))  # its last rows were settled: go back
    return render_template("accounts/held_orders.html", orders=orders, tenant=tenant)


@bp.route("/held-orders/<int:order_id>/credit", methods=["POST"])
@owner_required
def credit_held(order_id: int):
    tenant = current_tenant()
    order = get_for_tenant(Order, order_id, tenant.id)
    _settle_held_order(tenant, order, credit_held_order, OrderNotCredited, _credited)
    return redirect(_held_orders_url(_page_arg("page")), 303)


@bp.route("/held-orders/<int:order_id>/dismiss", methods=["POST"])
@owner_required
def dismiss_held(order_id: int):
    """The owner decided the order earns nothing: it leaves the list, no points move."""
    tenant = current_tenant()
    order = get_for_tenant(Order, order_id, tenant.id)
    _settle_held_order(tenant, order, dismiss_held_order, OrderNotDismissed, _dismissed)
    return redirect(_held_orders_url(_page_arg("page")), 303)


def _credited(order: Order) -> str:
    return f"Order {order.external_id}: {order.points_earned:,} points credited."


def _dismissed(order: Order) -> str:
    return f"Order {order.external_id} dismissed: no points credited."


def _settle_held_order(tenant, order: Order, settle, refusal: type[Exception], done) -> None:
    """Credit or dismiss one held order (a CSRF-checked button) and say how it went."""
    if not EmptyForm().validate_on_submit():
        return
    try:
        order = settle(tenant.id, order.id, current_user.id, utcnow())
    except refusal as error:
        flash(str(error), "error")
    else:
        flash(done(order), "success")


def _held_orders_url(page: int) -> str:
    return url_for("accounts.held_orders", **({"page": page} if page > 1 else {}))


@bp.route("/<int:account_id>/relations", methods=["POST"])
@login_required
def add_relation(account_id: int):
    tenant = current_tenant()
    account = get_for_tenant(Account, account_id, tenant.id)
    form = RelationForm()

    def save() -> str:
        other = find_account(tenant.id, form.other.data)
        record_relation_event(
            tenant.id,
            account.id,
            other.external_id if other is not None else form.other.data.strip(),
            form.type.data,
            do_not_process_symmetry=form.do_not_process_symmetry.data,
        )
        return "Relation recorded."

    # The service's other_external_id is the "other" field: its message lands there as fallback.
    return _submit(account, "relation_form", form, save, fallback="other")


@bp.route("/<int:account_id>/merge", methods=["GET", "POST"])
@owner_required
def merge(account_id: int):
    """Merge another account (found by id, card, email or phone) into this one, after a look."""
    tenant = current_tenant()
    survivor = get_for_tenant(Account, account_id, tenant.id)
    form = MergeForm()
    if request.method == "POST":
        other_id = parse_row_id(form.other_id.data)
        if form.validate_on_submit() and other_id is not None:
            other = get_for_tenant(Account, other_id, tenant.id)
            try:
                merge_accounts(tenant.id, survivor.id, other.id, current_user.id)
            except MergeError as error:
                flash(str(error), "error")
                return redirect(url_for("accounts.show", account_id=survivor.id), 303)
            flash(f"{other.external_id} was merged into this account.", "success")
            return redirect(url_for("accounts.show", account_id=survivor.id), 303)
        abort(400)
    typed = (request.args.get("other") or "").strip()
    other = find_account(tenant.id, typed) if typed else None
    problem = None
    if not typed:
        problem = "Type the other account's id, card, email or phone."
    elif other is None:
        problem = f"No account matches “{typed}”."
    elif other.id == survivor.id:
        problem = "That is this account."
    form.other_id.data = str(other.id) if other else ""
    levels = tier_levels(tenant.id)
    return render_template(
        "accounts/merge.html",
        survivor=survivor,
        other=other if problem is None else None,
        typed=typed,
        problem=problem,
        form=form,
        tenant=tenant,
        levels=levels,
        tier_for=tier_for,
    ), (200 if problem is None else 422)


@bp.route("/<int:account_id>/erase", methods=["GET", "POST"])
@owner_required
def erase(account_id: int):
    tenant = current_tenant()
    account = get_for_tenant(Account, account_id, tenant.id)
    form = EmptyForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            erase_account(tenant.id, account.id, current_user.id)
        except ErasureError as error:
            flash(str(error), "error")
        else:
            flash("The customer's personal data has been erased.", "success")
        return redirect(url_for("accounts.show", account_id=account.id), 303)
    return render_template("accounts/erase.html", account=account, form=form)
