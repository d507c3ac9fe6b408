"""Flask-Login's side of sign-in sessions: each cookie names a LoginSession row that must exist."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, session
from flask_login import user_loaded_from_cookie

from ...models import User
from ...services.setup.team import resume_session, rotate_session, start_session


def load_user(user_id: str) -> User | None:
    return resume_session(user_id)


def begin(user: User, remember: bool) -> None:
    """A new session row for this browser, bounded by the remember or the plain lifetime."""
    name = "REMEMBER_COOKIE_DURATION" if remember else "LOGIN_SESSION_LIFETIME"
    start_session(user, remember=remember, lifetime=_duration(current_app.config[name]))


def _duration(value: timedelta | int) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=int(value))


def _rotate_remember_cookie(app: Flask, user: User, **_extra) -> None:
    """A remember cookie that restored a session is replaced: a copy of it, used later, fails.

    The new cookie expires with the session row, so rotation never extends the 30 days.
    """
    remaining = rotate_session(user)
    session["_user_id"] = user.get_id()
    session["_remember"] = "set"
    session["_remember_seconds"] = max(int(remaining.total_seconds()), 0)


user_loaded_from_cookie.connect(_rotate_remember_cookie)
