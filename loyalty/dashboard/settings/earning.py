"""Settings → Earning (owners only): the restaurant's earning rules, and a preview of what a
basket earns under them, with a rule being edited tried before it is saved."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from ...models import EarningRule, Tenant
from ...rules.earning import EarningRule as Rule
from ...services.checkout.catalogue import tier_levels
from ...services.scoping import get_for_tenant
from ...services.setup.earning import (
    Preview,
    add_rule,
    checked_rule,
    delete_rule,
    preview_earning,
    recent_orders,
    rule_rows,
    update_rule,
)
from ...time import local_time, utcnow
from ...validation import FieldErrors
from ..access import current_tenant, owner_required
from ..auth.forms import EmptyForm
from ..forms import show_field_errors
from . import bp
from .forms import WEEKDAYS, EarningPreviewForm, EarningRuleForm

# Service field names -> the form's.
RENAMED = {"multiplier_percent": "multiplier"}
# The "try the saved rules" form's prefix: its fields sit on the page beside the rule form's.
SAVED = "saved"


@bp.route("/earning", methods=["GET", "POST"])
@owner_required
def earning():
    """The rules and a form for a new one; a POST adds it, or previews the rules with it."""
    return _rule_page(None)


@bp.route("/earning/<int:rule_id>", methods=["GET", "POST"])
@owner_required
def earning_rule(rule_id: int):
    tenant = current_tenant()
    return _rule_page(get_for_tenant(EarningRule, rule_id, tenant.id))


@bp.route("/earning/preview", methods=["POST"])
@owner_required
def earning_preview():
    """What a basket earns under the saved rules."""
    tenant = current_tenant()
    form = _filled(tenant, EarningPreviewForm(prefix=SAVED))
    preview = None
    if form.validate_on_submit():
        preview = _preview(tenant, form)
    return _page(tenant, _filled(tenant, EarningRuleForm(formdata=None)), None, form, preview)


@bp.route("/earning/<int:rule_id>/delete", methods=["POST"])
@owner_required
def delete_earning_rule(rule_id: int):
    tenant = current_tenant()
    rule = get_for_tenant(EarningRule, rule_id, tenant.id)
    if EmptyForm().validate_on_submit():
        name = rule.name
        delete_rule(tenant.id, rule.id)
        flash(f"Rule “{name}” deleted. Points already earned stay as they are.", "success")
    return redirect(url_for("settings.earning"), 303)


def _rule_page(rule: EarningRule | None):
    tenant = current_tenant()
    if request.method == "GET":
        data = EarningRuleForm.initial_data(rule, tenant.decimal_digits) if rule else None
        form = _filled(tenant, EarningRuleForm(data=data))
        return _page(tenant, form, rule, _saved_rules_form(tenant))
    form = _filled(tenant, EarningRuleForm())
    preview = None
    details = form.details(tenant.decimal_digits) if form.validate_on_submit() else None
    if details is not None:
        try:
            if request.form.get("action") == "preview":
                draft = checked_rule(details, rule.id if rule else 0)
                preview = _preview(tenant, form, draft)
            else:
                saved = (
                    update_rule(tenant.id, rule.id, details)
                    if rule
                    else add_rule(tenant.id, details)
                )
                flash(f"Rule “{saved.name}” saved. It applies to orders from now on.", "success")
                return redirect(url_for("settings.earning"), 303)
        except FieldErrors as error:
            show_field_errors(form, error, fallback="kind", renamed=RENAMED)
    status = 422 if form.errors else 200
    return _page(tenant, form, rule, _saved_rules_form(tenant), preview, status)


def _preview(tenant: Tenant, form: EarningPreviewForm, draft: Rule | None = None) -> Preview | None:
    """The preview, or None with the refusal under the basket (or the order) field."""
    tiers = {level.tier_id: level for level in tier_levels(tenant.id)}
    when = form.when.data or local_time(tenant.time_zone, utcnow())
    try:
        return preview_earning(
            tenant.id, form.basket.data, form.order.data, when, tiers.get(form.tier.data), draft
        )
    except FieldErrors as error:
        show_field_errors(form, error, fallback="basket")
        return None


def _saved_rules_form(tenant: Tenant) -> EarningPreviewForm:
    return _filled(tenant, EarningPreviewForm(formdata=None, prefix=SAVED))


def _filled(tenant: Tenant, form: EarningPreviewForm) -> EarningPreviewForm:
    form.fill_choices(recent_orders(tenant.id), tier_levels(tenant.id))
    return form


def _page(
    tenant: Tenant,
    form: EarningRuleForm,
    rule: EarningRule | None,
    preview_form: EarningPreviewForm,
    preview: Preview | None = None,
    status: int = 200,
):
    return render_template(
        "settings/earning.html",
        tenant=tenant,
        rules=rule_rows(tenant.id),
        form=form,
        rule=rule,
        preview_form=preview_form,
        preview=preview,
        weekdays=WEEKDAYS,
    ), status
