"""Login is throttled per email and per address; logout is a POST with a CSRF token.

Every sign-in is a LoginSession row (services.setup.team): logout, a password change, deactivation
and "sign out everywhere" delete rows, so copies of the cookies stop working too.
"""

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ...services.setup.team import (
    LoginThrottled,
    authenticate,
    change_password,
    end_all_sessions,
    end_session,
)
from ...validation import FieldErrors
from ..forms import show_field_errors
from . import bp
from .forms import EmptyForm, LoginForm, PasswordForm
from .sessions import begin


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        window = current_app.config["LOGIN_THROTTLE_WINDOW_SECONDS"]
        try:
            user = authenticate(
                form.email.data,
                form.password.data,
                request.remote_addr or "unknown",
                max_failures=current_app.config["LOGIN_THROTTLE_MAX_FAILURES"],
                window_seconds=window,
            )
        except LoginThrottled:
            flash(f"Too many failed attempts. Wait {_wait(window)} and try again.", "error")
            return render_template("auth/login.html", form=form), 429
        if user is not None:
            begin(user, remember=form.remember.data)
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
        flash("Wrong email or password.", "error")
        status = 401
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    if EmptyForm().validate_on_submit():
        end_session(current_user)
        logout_user()
        flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """The signed-in member's own page: change their password, sign out everywhere."""
    form = PasswordForm()
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            try:
                change_password(current_user, form.current.data, form.new.data)
            except FieldErrors as error:
                show_field_errors(form, error, fallback="current")
            else:
                flash("Password changed. Your other browsers are signed out.", "success")
                return redirect(url_for("auth.account"), 303)
    return render_template("auth/account.html", form=form), status


@bp.route("/account/sign-out-everywhere", methods=["POST"])
@login_required
def sign_out_everywhere():
    if EmptyForm().validate_on_submit():
        end_all_sessions(current_user.tenant_id, current_user.id)
        logout_user()
        flash("You are signed out on every device.", "info")
        return redirect(url_for("auth.login"), 303)
    return redirect(url_for("auth.account"), 303)


def _wait(seconds: int) -> str:
    """The throttle window in words: "15 minutes", "1 minute", "30 seconds"."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: a crafted ?next= must not send people elsewhere."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("home.index")
