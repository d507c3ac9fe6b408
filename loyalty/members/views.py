"""The member pages: each parses its form, calls one service and renders or redirects."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from functools import partial, wraps

from flask import (
    Response,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from ..dashboard.storable import refuse_unstorable_text
from ..models import utcnow
from ..rules.brand import DEFAULT_BRAND, ColourError, parse_colour, text_colour_on
from ..services.accounts import sign_in_codes
from ..services.deliverect.sso import SsoUnavailable, list_shops, sso_ready, start_sso
from ..services.members.card import card_for
from ..services.members.join import (
    JoinRequest,
    contact_login,
    finish_join,
    is_pending,
    join_choices,
    open_join,
)
from ..services.members.own_data import (
    OwnDetails,
    erase_own_account,
    own_data,
    update_own_details,
)
from ..services.members.sessions import end_session, signed_in_since
from ..services.members.sign_in import sign_in_with_code
from ..services.members.throttle import (
    GuestThrottled,
    count_code_request,
    count_guess,
    forgive_guess,
)
from ..validation import FieldErrors
from . import (
    TooManyTries,
    bp,
    guest_token,
    keep_join_choices,
    kept_join_choices,
    member_tenant,
    remember_token,
    signed_in_guest,
)
from .forms import CodeForm, ContactForm, DetailsForm, EmptyForm, JoinForm
from .next_page import local_next
from .qr import qr_inline

bp.before_request(refuse_unstorable_text)

LEDGER_LABELS = {
    "earn": "Earned",
    "redeem": "Spent on a reward",
    "adjust": "Changed by the team",
    "expire": "Expired",
    "reversal": "Order cancelled",
    "campaign_credit": "Bonus",
    "opening": "Opening balance",
    "merge": "Moved from another card",
    "debt_repayment": "Settled",
}


def signed_in(view):
    """The page needs a signed-in guest; others are sent to sign in and brought back."""

    @wraps(view)
    def wrapper(**values):
        if signed_in_guest() is None:
            # Back to the page after signing in, when it is one a link can open (a GET).
            back = request.path if request.method == "GET" else None
            return redirect(url_for("members.sign_in", next=back), 303)
        return view(**values)

    return wrapper


def _home() -> str:
    return url_for("members.card")


# --- join and sign in --------------------------------------------------------------------------


@bp.route("/join", methods=["GET", "POST"])
def join_page():
    tenant, guest = member_tenant(), signed_in_guest()
    form = JoinForm()
    if request.method == "GET":
        if guest is not None and not is_pending(guest):
            return redirect(_home(), 303)
        if guest is not None:  # proven, but never joined: the address is theirs already
            form.contact.data = guest.email or guest.phone
        return render_template("members/join.html", form=form)
    if form.validate_on_submit():
        try:
            choices = join_choices(
                JoinRequest(
                    first_name=form.first_name.data,
                    last_name=form.last_name.data,
                    contact=form.contact.data,
                    birthdate=form.birthdate.data,
                    marketing_consent=bool(form.marketing_consent.data),
                ),
                now=utcnow(),
                phone_region=current_app.config["DEFAULT_PHONE_REGION"],
            )
        except FieldErrors as error:
            _show_errors(form, error, fallback="first_name")
        else:
            if guest is not None and finish_join(guest, choices, now=utcnow()):
                flash(f"Welcome to {tenant.name}'s programme.", "success")
                return redirect(_home(), 303)
            _count_code_request()
            keep_join_choices(choices)
            return _ask_for_code(choices.login, None, partial(open_join, _app(), tenant.id))
    return render_template("members/join.html", form=form), 422


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    form = ContactForm()
    if request.method == "GET":
        if signed_in_guest() is not None:
            return redirect(_next_or_home(request.args.get("next")), 303)
        form.next.data = _safe_next(request.args.get("next"))
        return render_template("members/sign_in.html", form=form)
    if form.validate_on_submit():
        try:
            _kind, login = contact_login(
                form.contact.data, current_app.config["DEFAULT_PHONE_REGION"]
            )
        except FieldErrors as error:
            _show_errors(form, error, fallback="contact")
        else:
            _count_code_request()
            send = partial(sign_in_codes.send_code, _app(), member_tenant().id)
            return _ask_for_code(login, _safe_next(form.next.data), send)
    return render_template("members/sign_in.html", form=form), 422


def _ask_for_code(login: str, next_page: str | None, send: Callable[[str], None]):
    """The page asking for the code sent to `login`, the same whether or not it is a member's:
    `send(login)` (which issues and delivers the code, if any) runs after the answer."""
    code_form = CodeForm(formdata=None, data={"login": login, "next": next_page or ""})
    minutes = int(current_app.config["CUSTOMER_CODE_MINUTES"])
    response = make_response(render_template("members/code.html", form=code_form, minutes=minutes))
    response.call_on_close(partial(send, login))
    return response


@bp.route("/code", methods=["POST"])
def enter_code():
    form = CodeForm()
    config = current_app.config
    if form.validate_on_submit():
        tenant_id, address = member_tenant().id, _requester()
        try:
            count_guess(tenant_id, address, now=utcnow(), **_per_requester("GUEST_WRONG_CODES"))
        except GuestThrottled:
            raise TooManyTries() from None
        token = sign_in_with_code(
            tenant_id,
            form.login.data,
            form.code.data,
            now=utcnow(),
            max_attempts=int(config["CUSTOMER_CODE_ATTEMPTS"]),
            session_lifetime=timedelta(days=int(config["GUEST_SESSION_DAYS"])),
            joining=kept_join_choices(),
        )
        if token is not None:
            forgive_guess(tenant_id, address)
            keep_join_choices(None)
            remember_token(token)
            return redirect(_next_or_home(form.next.data), 303)
        form.code.errors = [
            *form.code.errors,
            "This code is not right, or no longer works. Check it, or ask for a new one.",
        ]
    minutes = int(config["CUSTOMER_CODE_MINUTES"])
    return render_template("members/code.html", form=form, minutes=minutes), 422


def _count_code_request() -> None:
    try:
        count_code_request(
            member_tenant().id,
            _requester(),
            now=utcnow(),
            **_per_requester("GUEST_CODE_REQUESTS"),
        )
    except GuestThrottled:
        raise TooManyTries() from None


def _per_requester(name: str) -> dict[str, int]:
    config = current_app.config
    return {
        "limit": int(config[f"{name}_PER_WINDOW"]),
        "window_seconds": int(config["LOGIN_THROTTLE_WINDOW_SECONDS"]),
    }


def _requester() -> str:
    return request.remote_addr or "unknown"


def _app():
    return current_app._get_current_object()


@bp.route("/sign-out", methods=["POST"])
def sign_out():
    if EmptyForm().validate_on_submit():
        end_session(member_tenant().id, guest_token())
        remember_token(None)
    return redirect(url_for("members.sign_in"), 303)


# --- the card ----------------------------------------------------------------------------------


@bp.route("/")
@signed_in
def card():
    tenant = member_tenant()
    if is_pending(signed_in_guest()):
        return redirect(url_for("members.join_page"), 303)
    guest_card = card_for(tenant.id, signed_in_guest(), utcnow())
    shops = list_shops(tenant.id) if sso_ready(tenant) else []
    qr_codes = {
        coupon.code: qr_inline(coupon.code, f"QR code of coupon {coupon.code}")
        for coupon in guest_card.coupons
    }
    return render_template(
        "members/card.html",
        card=guest_card,
        shops=shops,
        qr_codes=qr_codes,
        ledger_labels=LEDGER_LABELS,
        button=EmptyForm(),
    )


@bp.route("/order/<int:shop_id>", methods=["POST"])
@signed_in
def order_online(shop_id: int):
    if not EmptyForm().validate_on_submit():
        return redirect(_home(), 303)
    try:
        address = start_sso(member_tenant().id, signed_in_guest().id, shop_id, now=utcnow())
    except SsoUnavailable:
        flash("Online ordering is not available right now.", "error")
        return redirect(_home(), 303)
    return redirect(address, 303)


# --- my data -----------------------------------------------------------------------------------


@bp.route("/me", methods=["GET", "POST"])
@signed_in
def me():
    tenant, guest = member_tenant(), signed_in_guest()
    if request.method == "GET":
        form = DetailsForm(
            data={
                "first_name": guest.first_name,
                "last_name": guest.last_name,
                "birthdate": guest.birthdate,
                "marketing_consent": guest.marketing_consent,
            }
        )
        return render_template("members/me.html", form=form)
    form = DetailsForm()
    if form.validate_on_submit():
        try:
            update_own_details(
                tenant.id,
                guest.id,
                OwnDetails(
                    first_name=form.first_name.data,
                    last_name=form.last_name.data,
                    birthdate=form.birthdate.data,
                    marketing_consent=bool(form.marketing_consent.data),
                ),
                now=utcnow(),
            )
        except FieldErrors as error:
            _show_errors(form, error, fallback="first_name")
        else:
            flash("Your details are saved.", "success")
            return redirect(url_for("members.me"), 303)
    return render_template("members/me.html", form=form), 422


@bp.route("/me/data.json")
@signed_in
def my_data():
    tenant = member_tenant()
    body = json.dumps(own_data(tenant.id, signed_in_guest().id, utcnow()), indent=2)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{tenant.slug}-my-data.json"'
    return response


@bp.route("/me/delete", methods=["GET", "POST"])
@signed_in
def delete_me():
    form = EmptyForm()
    if not _signed_in_recently():
        return render_template("members/delete.html", form=form, prove=True)
    if request.method == "POST" and form.validate_on_submit():
        erase_own_account(member_tenant().id, signed_in_guest().id, now=utcnow())
        remember_token(None)  # its sessions ended with the erasure
        flash("Your account and your personal data are deleted.", "success")
        return redirect(url_for("members.join_page"), 303)
    return render_template("members/delete.html", form=form, prove=False)


@bp.route("/me/delete/code", methods=["POST"])
@signed_in
def prove_before_deleting():
    """Erasure cannot be undone: a phone signed in long ago (perhaps shared) first proves the
    address again with a new code, then comes back to the question."""
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("members.delete_me"), 303)
    login = signed_in_guest().email or signed_in_guest().phone
    if login is None:  # the page says to ask the team
        return redirect(url_for("members.delete_me"), 303)
    _count_code_request()
    send = partial(sign_in_codes.send_code, _app(), member_tenant().id)
    return _ask_for_code(login, url_for("members.delete_me"), send)


def _signed_in_recently() -> bool:
    since = signed_in_since(member_tenant().id, guest_token())
    fresh = timedelta(minutes=int(current_app.config["GUEST_FRESH_SIGN_IN_MINUTES"]))
    return since is not None and utcnow() - since <= fresh


# --- the restaurant's colour -------------------------------------------------------------------


@bp.route("/brand.css")
def brand_css():
    """The brand colour as CSS variables: the pages' policy forbids inline styles."""
    try:
        colour = parse_colour(member_tenant().brand_colour) or DEFAULT_BRAND
    except ColourError:  # saved by hand around the settings' check
        colour = DEFAULT_BRAND
    body = f":root {{ --brand: {colour}; --on-brand: {text_colour_on(colour)}; }}\n"
    response = Response(body, mimetype="text/css")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def _safe_next(target: object) -> str | None:
    return local_next(target, url_for("members.card"))


def _next_or_home(target: object) -> str:
    return _safe_next(target) or _home()


def _show_errors(form, error: FieldErrors, *, fallback: str) -> None:
    """Each message under its field; one about something without a field under `fallback`."""
    for name, message in error.errors.items():
        field = form._fields.get(name) or form[fallback]
        field.errors = [*field.errors, message]
