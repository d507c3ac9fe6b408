"""Notifications page: the sender and its settings, a test message, the latest outbox messages."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...models import utcnow
from ...services.notifications.outbox import latest_messages, send_test_message
from ...services.notifications.settings import (
    notification_settings,
    secret_hint,
    update_notification_settings,
)
from ...validation import FieldErrors
from ..access import current_tenant, owner_required
from ..auth.forms import EmptyForm
from ..forms import show_field_errors
from . import bp
from .forms import NotificationsForm

KIND_LABELS = {
    "campaign_message": "Campaign message",
    "coupon_expiry": "Coupon expiry",
    "dynamic_join": "Joined a campaign",
    "specific_time": "Scheduled",
    "test": "Test",
    "one_time_code": "Sign-in code",
}
SENDER_NAMES = {"log": "the application log", "smtp": "e-mail", "webhook": "your webhook"}


def _page(form: NotificationsForm, status: int = 200):
    tenant = current_tenant()
    saved = notification_settings(tenant.id)
    return render_template(
        "notifications/index.html",
        form=form,
        tenant=tenant,
        password_saved=bool(saved.smtp_password),
        secret_hint=secret_hint(saved.webhook_secret),
        sender_name=SENDER_NAMES[saved.sender],
        messages=latest_messages(tenant.id),
        kind_labels=KIND_LABELS,
    ), status


@bp.route("/", methods=["GET", "POST"])
@owner_required
def index():
    tenant = current_tenant()
    if request.method == "GET":
        saved = notification_settings(tenant.id)
        return _page(NotificationsForm(data=NotificationsForm.initial_data(saved)))
    form = NotificationsForm()
    if form.validate_on_submit():
        try:
            update_notification_settings(tenant.id, form.choice())
        except FieldErrors as error:
            show_field_errors(form, error, fallback="sender")
        else:
            flash("Notification settings saved.", "success")
            return redirect(url_for("notifications.index"), 303)
    return _page(form, 422)


@bp.route("/test", methods=["POST"])
@owner_required
def send_test():
    if EmptyForm().validate_on_submit():
        result = send_test_message(current_tenant().id, current_user.id, utcnow())
        if result.error:
            flash(f"The test message to {result.to} failed: {result.error}.", "error")
        elif result.sender == "log":
            flash(
                "The test message was written to the application log: customers receive "
                "nothing until you choose e-mail or a webhook.",
                "success",
            )
        else:
            how = SENDER_NAMES[result.sender]
            flash(f"A test message to {result.to} was sent by {how}.", "success")
    return redirect(url_for("notifications.index"), 303)
