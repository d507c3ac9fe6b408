"""The one builder of Deliverect-contract error responses, and the 404 body the spec uses."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Response, jsonify

from ..validation import FieldErrors


class WebhookError(Exception):
    """Anything a webhook refuses: carries the status and the contract's error fields."""

    def __init__(self, status: int, error: str, description: str | None = None):
        super().__init__(description or error)
        self.status = status
        self.error = error
        self.description = description or error

    def response(self) -> Response:
        return error_response(self.status, self.error, self.description)


class NotFound(Exception):
    """A customer the provider does not know: Deliverect expects 404 `{"value": ""}`."""

    def __init__(self, description: str = "loyalty customer not found"):
        super().__init__(description)
        self.description = description


def error_response(status: int, error: str, description: str) -> Response:
    response = jsonify({"error": error, "http_code": status, "description": description})
    response.status_code = status
    return response


def value_response(status: int) -> Response:
    """`{"value": ""}`: the body Deliverect documents for 404s and a refused registration."""
    response = jsonify({"value": ""})
    response.status_code = status
    return response


def render_http_error(status: int, title: str, description: str) -> Response:
    """errors.register_json_errors renderer: routing 404/405 and unexpected 500s, same shape."""
    return error_response(status, title.lower().replace(" ", "_"), description)


def bad_request(description: str, error: str = "bad_request") -> WebhookError:
    """A 400; the token endpoint names its refusals as OAuth does (`invalid_request`)."""
    return WebhookError(400, error, description)


def invalid_fields(error: FieldErrors, names: Mapping[str, str] | None = None) -> WebhookError:
    """The Deliverect answer to FieldErrors: a 400 naming each field as Deliverect spells it
    (`names` renames ours), e.g. "phoneNumber: '12' is not a possible phone number"."""
    return bad_request(error.describe(names))


NO_PROFILE = "no active loyalty profile found"


def no_profile(description: str = NO_PROFILE) -> WebhookError:
    return WebhookError(400, NO_PROFILE, description)


def bad_signature(description: str) -> WebhookError:
    return WebhookError(401, "invalid_signature", description)
