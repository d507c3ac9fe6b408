"""The API's one error shape, `{"error", "message", "field"}`, and what raises it.

`error` is a short code (invalid, unauthorized, forbidden, not_found, conflict, ...), `message`
says in words what is wrong, `field` names the JSON path or parameter at fault (or null), and
`errors` maps every such field to its message when more than one is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Response, jsonify
from pydantic import ValidationError

from ..validation import CONFLICT, FieldErrors

CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        field: str | None = None,
        *,
        error: str | None = None,
        errors: Mapping[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.error = error or CODES.get(status, "error")
        self.message = message
        self.field = field
        self.errors = dict(errors or {})

    def response(self) -> Response:
        return error_response(self.status, self.error, self.message, self.field, self.errors)


def error_response(
    status: int,
    error: str,
    message: str,
    field: str | None = None,
    errors: Mapping[str, str] | None = None,
) -> Response:
    body: dict = {"error": error, "message": message, "field": field}
    if errors:
        body["errors"] = dict(errors)
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="loyalty-api"'
    return response


def render_http_error(status: int, _title: str, description: str) -> Response:
    """Routing 404/405s, 413s and unexpected errors under the API's prefix (loyalty.errors)."""
    return error_response(status, CODES.get(status, "error"), description)


def from_field_errors(problem: FieldErrors) -> ApiError:
    """A service's refusal: 409 when another row holds the value, else 400; first field named."""
    status = 409 if problem.code == CONFLICT else 400
    field = next(iter(problem.errors), None)
    message = problem.errors[field] if field and len(problem.errors) == 1 else problem.describe()
    return ApiError(status, message, field, errors=problem.errors)


def from_validation_error(problem: ValidationError, where: str = "") -> ApiError:
    """A request pydantic refused: each error keyed by its JSON path (`states[0].id`)."""
    errors: dict[str, str] = {}
    for item in problem.errors(include_url=False, include_input=False):
        # Our validators' own messages, without the "Value error, " pydantic puts before them.
        message = item["msg"].removeprefix("Value error, ")
        errors.setdefault(json_path(item["loc"], where), message)
    field = next(iter(errors), None)
    message = (
        errors[field]
        if field and len(errors) == 1
        else "; ".join(f"{name or 'body'}: {text}" for name, text in errors.items())
    )
    return ApiError(400, message, field or None, errors=errors)


def json_path(location: tuple, where: str = "") -> str:
    path = where
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path
