"""OAuth2 for the API (Authlib's authorization server): tokens and customers' one-time codes.

`POST /auth-oauth2/oauth/token` (tenant in `X-Tenant`) or `/auth-oauth2/<tenant>/oauth/token`,
form-encoded, the app's client authenticated by HTTP Basic (or client_id/client_secret in the
form). Each kind of client has its own grants; any other is `unauthorized_client`:
- `service`: `client_credentials`, a token with the client's own roles;
- `admin-app`: `password` with a team member's e-mail and password (throttled like the
  dashboard's login), a token with the member's roles (owner: all four, staff: ROLE_LOYALTY);
- `customer-app`: `password` with a customer's e-mail or phone and the one-time code sent by
  `POST /auth-oauth2/oauth/code`, or `username=anonymous` and an empty password for a guest;
- every kind: `refresh_token`, which rotates (the old pair stops working).
Access tokens are signed JWTs; every API call also checks the token's row (resource.py), so
revoking a client or deactivating a member stops their tokens at once.
"""

from flask import Blueprint

oauth = Blueprint("oauth", __name__, url_prefix="/auth-oauth2")

from . import views  # noqa: E402, F401 (the routes)
