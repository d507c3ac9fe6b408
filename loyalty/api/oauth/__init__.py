"""OAuth2 for the API (Authlib's authorization server): tokens and customers' one-time codes."""

from flask import Blueprint

oauth = Blueprint("oauth", __name__, url_prefix="/auth-oauth2")
