"""API clients: the owner issues and revokes the OAuth2 clients of apps, tills and back offices."""

from flask import Blueprint

bp = Blueprint("api_clients", __name__, url_prefix="/api-clients")

from . import views  # noqa: E402,F401
