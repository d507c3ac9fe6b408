"""The operation registry: each API operation declared once, with its path, access, roles and
pydantic models, from which both the Flask route and the OpenAPI document are made.

A view is `view(principal, **path_params, query=..., body=...)` (only the keywords it declares)
and returns a pydantic model, a JSON-able dict or list, or a ready Response. Before it runs, the
wrapper authenticates the bearer token, checks the access and roles, and validates the path
parameters, query and body; any refusal is an ApiError in the API's one shape.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import wraps
from typing import Any, get_args, get_origin

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, TypeAdapter, ValidationError

from .errors import ApiError, from_validation_error
from .principal import Principal


class Access(StrEnum):
    # A service (client credentials) or team member token holding one of the roles.
    STAFF = "staff"
    # A signed-in customer's token: the my* operations act on the caller's own account.
    CUSTOMER = "customer"


@dataclass(frozen=True)
class PathParam:
    name: str
    pattern: str
    min_length: int
    max_length: int
    description: str

    def check(self, value: str) -> None:
        if not (self.min_length <= len(value) <= self.max_length) or not re.fullmatch(
            self.pattern, value
        ):
            raise ApiError(
                400,
                f"{self.name} must be {self.min_length} to {self.max_length} characters of "
                f"{self.pattern}",
                self.name,
            )

    def schema(self) -> dict:
        return {
            "type": "string",
            "minLength": self.min_length,
            "maxLength": self.max_length,
            "pattern": f"^{self.pattern}$",
        }


CAMPAIGN = PathParam("campaign", r"[a-zA-Z0-9_-]+", 3, 64, "campaign id")
ACCOUNT = PathParam("account", r"[a-zA-Z0-9._-]+", 3, 64, "account id")
CARD = PathParam("card", r"[a-zA-Z0-9._-]+", 1, 64, "loyalty card number")


@dataclass(frozen=True)
class Reply:
    """One documented response: its status, words, and body (a model or type, or None)."""

    status: int
    description: str
    body: Any = None
    content_type: str = "application/json"
    headers: tuple[str, ...] = ()


@dataclass
class Operation:
    operation_id: str
    method: str
    path: str  # OpenAPI style, relative to the blueprint prefix: /campaign/{campaign}
    summary: str
    tag: str
    access: Access
    roles: tuple[str, ...]
    path_params: tuple[PathParam, ...]
    query: type[BaseModel] | None
    body: Any
    replies: tuple[Reply, ...]
    deprecated: bool = False
    # Extra ways to call it with a body other than JSON (e.g. text/plain pushId), for the document.
    body_content_types: tuple[str, ...] = ("application/json",)
    description: str = ""
    endpoint: str = field(default="")


OPERATIONS: dict[str, Operation] = {}


def operation(
    blueprint: Blueprint,
    operation_id: str,
    method: str,
    path: str,
    *,
    summary: str,
    tag: str,
    access: Access = Access.STAFF,
    roles: tuple[str, ...] = (),
    path_params: tuple[PathParam, ...] = (),
    query: type[BaseModel] | None = None,
    body: Any = None,
    replies: tuple[Reply, ...] = (),
    deprecated: bool = False,
    body_content_types: tuple[str, ...] = ("application/json",),
    description: str = "",
) -> Callable:
    """Register `view` as the operation: a route on `blueprint` and an entry in OPERATIONS."""
    if operation_id in OPERATIONS:
        raise RuntimeError(f"operation {operation_id} declared twice")
    body_adapter = TypeAdapter(body) if body is not None else None
    rule = re.sub(r"\{(\w+)\}", r"<\1>", path)

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def endpoint(**path_values: str):
            principal = authorise(access, roles)
            for param in path_params:
                param.check(path_values[param.name])
            kwargs: dict[str, Any] = dict(path_values)
            if query is not None:
                kwargs["query"] = parse_query(query)
            if body_adapter is not None:
                kwargs["body"] = parse_body(body_adapter, body_content_types)
            return to_response(view(principal, **kwargs), replies)

        blueprint.add_url_rule(rule, endpoint=operation_id, view_func=endpoint, methods=[method])
        OPERATIONS[operation_id] = Operation(
            operation_id=operation_id,
            method=method.lower(),
            path=path,
            summary=summary,
            tag=tag,
            access=access,
            roles=roles,
            path_params=path_params,
            query=query,
            body=body,
            replies=replies,
            deprecated=deprecated,
            body_content_types=body_content_types,
            description=description or inspect.cleandoc(view.__doc__ or ""),
            endpoint=f"{blueprint.name}.{operation_id}",
        )
        return endpoint

    return decorate


def authorise(access: Access, roles: tuple[str, ...]) -> Principal:
    from .oauth.resource import principal_from_request

    principal = principal_from_request()  # 401 unless a live token of the x-tenant's tenant
    if access is Access.CUSTOMER:
        if not principal.is_customer:
            raise ApiError(403, "this operation needs a signed-in customer's token")
    elif principal.subject_kind not in ("client", "user") or not principal.has_any_role(roles):
        raise ApiError(403, f"this operation needs one of the roles {', '.join(roles)}")
    return principal


def parse_query(model: type[BaseModel]) -> BaseModel:
    """The query string as `model`: a parameter given more than once is a list when the field is
    one; a react-admin `filter={...}` JSON object adds its keys (explicit parameters win)."""
    data: dict[str, Any] = {}
    listed = {name for name, info in model.model_fields.items() if _is_list(info.annotation)}
    aliases = {info.alias or name: name for name, info in model.model_fields.items()}
    raw_filter = request.args.get("filter")
    # ListQuery's own `filter` field only documents the parameter: its keys still apply.
    if raw_filter:
        try:
            extra = json.loads(raw_filter)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply
            raise ApiError(400, "filter must be a JSON object", "filter") from None
        if not isinstance(extra, dict):
            raise ApiError(400, "filter must be a JSON object", "filter")
        for key, value in extra.items():
            if key in aliases:
                data[key] = value if aliases[key] in listed or not isinstance(value, list) else (
                    value[0] if value else None
                )
    for key in request.args:
        if key in aliases:
            values = request.args.getlist(key)
            data[key] = values if aliases[key] in listed else values[-1]
    try:
        return model.model_validate(data)
    except ValidationError as problem:
        raise from_validation_error(problem) from None


def _is_list(annotation: Any) -> bool:
    """list[X], or list[X] | None."""
    if get_origin(annotation) is list:
        return True
    return any(get_origin(arm) is list for arm in get_args(annotation))


def parse_body(adapter: TypeAdapter, content_types: tuple[str, ...]) -> Any:
    """The body as JSON, or, where the operation takes text/plain (a bare pushId), as text."""
    if request.mimetype == "text/plain" and "text/plain" in content_types:
        try:
            data = request.get_data(cache=True).decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "the body is not UTF-8 text") from None
        return _validated(adapter, data)
    if not request.is_json:
        raise ApiError(415, f"send the body as {' or '.join(content_types)}")
    try:
        data = json.loads(request.get_data(cache=True) or b"null")
    except (ValueError, RecursionError):  # RecursionError: nested too deeply
        raise ApiError(400, "the body is not valid JSON") from None
    return _validated(adapter, data)


def _validated(adapter: TypeAdapter, data: Any) -> Any:
    try:
        return adapter.validate_python(data)
    except ValidationError as problem:
        raise from_validation_error(problem) from None


def to_response(result: Any, replies: tuple[Reply, ...]) -> Response:
    if isinstance(result, Response):
        return result
    status = replies[0].status if replies else 200
    if result is None:
        return Response(status=204 if status == 204 else status)
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json", by_alias=True)
    elif isinstance(result, list) and result and isinstance(result[0], BaseModel):
        result = [item.model_dump(mode="json", by_alias=True) for item in result]
    response = jsonify(result)
    response.status_code = status
    return response
