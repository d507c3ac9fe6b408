"""Who may do what in the dashboard: login for everything, the owner role for configuration."""

from __future__ import annotations

from functools import wraps

from flask import abort, request
from flask_login import current_user, login_required

from ..models import Tenant


def current_tenant() -> Tenant:
    return current_user.tenant


def owner_required(view):
    """Staff run the programme day to day; only owners change rewards, tiers, settings, team."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_owner:
            abort(403)
        return view(*args, **kwargs)

    wrapped.owner_only = True  # the navigation hides such pages from staff
    return wrapped


def require_owner_to_save() -> None:
    """Staff may open an edit page to read it; only owners may save it."""
    if request.method != "GET" and not current_user.is_owner:
        abort(403)
