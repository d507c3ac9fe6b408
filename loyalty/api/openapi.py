"""The OpenAPI 3.1 document of the API, made from the operation registry and its pydantic models.

Nothing here is kept by hand: each operation's path, parameters, body, replies and access come
from `operations.OPERATIONS`, and every schema from the same pydantic models (or types) that
validate the requests and shape the answers, through one `TypeAdapter.json_schemas` call so
that all operations share their components.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field, TypeAdapter

from . import PREFIX
from .errors import CODES
from .operations import OPERATIONS, Access, Operation, Reply
from .principal import SUPERUSER

TITLE = "Loyalty API"
VERSION = "1.0"
TOKEN_URL = "/auth-oauth2/oauth/token"
COMPONENTS = "#/components/schemas/{model}"
ERROR_COMPONENT = "ApiErrorBody"
ROLES = {
    "ROLE_SU": "superuser: every operation",
    "ROLE_LOYALTY": "loyalty administration: accounts, coupons, events, campaigns",
    "ROLE_LOYALTY_CAMPAIGN": "campaign editing",
    "ROLE_LOYALTY_STATS": "statistics",
}
TENANT_HEADER = {
    "name": "x-tenant",
    "in": "header",
    "required": False,
    "description": "The restaurant's tenant id; when given it must be the token's tenant.",
    "schema": {"type": "string", "minLength": 3, "maxLength": 64, "pattern": "^[a-zA-Z0-9._-]+$"},
}
# The refusals every operation may answer with, in the API's one error shape.
COMMON_ERRORS = {
    400: "The request is invalid: `field` names the parameter or JSON path at fault.",
    401: "No token, or an expired, revoked or unknown one, or a token of another tenant.",
    403: "The token lacks the access or role this operation needs.",
    404: "No such object in the token's tenant (another tenant's objects are missing too).",
}
BODY_ERRORS = {
    413: "The body is larger than the server accepts.",
    415: "The body is not in a content type this operation reads.",
}
# What each response header documented by a Reply carries.
HEADER_SCHEMAS = {
    "X-Total-Count": (
        {"type": "string", "pattern": "^[0-9]+$"},
        "How many items match, over all pages (a decimal integer).",
    ),
    "Content-Range": (
        {"type": "string"},
        "The page within all matches, e.g. `items 0-24/100` (`items */0` when empty).",
    ),
    "Content-Disposition": ({"type": "string"}, "Suggests a file name for the download."),
}
DESCRIPTION = f"""\
The OrderingStack-compatible loyalty API. Every path is relative to `{PREFIX}`.

**Authentication.** Send `Authorization: Bearer <access token>` with a token from
`POST {TOKEN_URL}` (form-encoded, the app's client in HTTP Basic, the tenant in `X-Tenant`):
`grant_type=client_credentials` for a service, `grant_type=password` with a team member's
e-mail and password for a back office, or a customer's login and one-time code (from
`POST /auth-oauth2/oauth/code`) for the `my*` operations. Access tokens are signed JWTs.

**Tenant.** `x-tenant` may name the token's tenant; a token of another tenant is refused.

**Errors** are JSON `{{"error", "message", "field"}}` (and `errors`, each field at fault with its
message, when fields are named): 400 invalid input, 401 no valid token, 403 missing role,
404 not found in your tenant, 409 conflict (e.g. a coupon already locked).

**Lists** (react-admin) take json-server `_start`, `_end`, `_sort`, `_order` or simple-rest
`range`, `sort`, `filter`, and answer a bare JSON array with `X-Total-Count` and
`Content-Range`.
"""


class ApiErrorBody(BaseModel):
    """The API's one error shape (loyalty.api.errors)."""

    error: str = Field(description="A short code: " + ", ".join(sorted(set(CODES.values()))))
    message: str = Field(description="What is wrong, in words.")
    field: str | None = Field(description="The parameter or JSON path at fault, if one is.")
    errors: dict[str, str] = Field(
        default_factory=dict,
        description="Each field at fault and its message; absent when no field is named.",
    )


def openapi_document(base_url: str) -> dict:
    """The document for a server at `base_url` (scheme and host, no trailing slash)."""
    tags, paths, components = copy.deepcopy(_described(tuple(OPERATIONS)))
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "servers": [{"url": base_url + PREFIX}],
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": _security_schemes(base_url + TOKEN_URL),
        },
    }


@lru_cache(maxsize=1)
def _described(operation_ids: tuple[str, ...]) -> tuple[list, dict, dict]:
    """Tags, paths and schemas of the registered operations, made once: the registry is filled
    at import and never changes after (the key notices an operation added all the same)."""
    operations = sorted(
        (OPERATIONS[name] for name in operation_ids), key=lambda op: (op.path, op.method)
    )
    schemas = _Schemas(operations)
    paths: dict[str, dict] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method] = _operation(op, schemas)
    tags = [{"name": tag} for tag in sorted({op.tag for op in operations})]
    return tags, paths, schemas.used_by(paths)


class _Schemas:
    """Every model and type the operations use, as JSON schemas sharing one set of components:
    requests in pydantic's validation mode, answers in its serialization mode."""

    def __init__(self, operations: list[Operation]) -> None:
        inputs: list[tuple[tuple[str, str], str, TypeAdapter]] = [
            (("error", ERROR_COMPONENT), "serialization", TypeAdapter(ApiErrorBody))
        ]
        for op in operations:
            if op.query is not None:
                inputs.append(((op.operation_id, "query"), "validation", TypeAdapter(op.query)))
            if op.body is not None:
                inputs.append(((op.operation_id, "body"), "validation", TypeAdapter(op.body)))
            for index, reply in enumerate(op.replies):
                if reply.body is not None:
                    key = (op.operation_id, f"reply{index}")
                    inputs.append((key, "serialization", TypeAdapter(reply.body)))
        generated, definitions = TypeAdapter.json_schemas(inputs, ref_template=COMPONENTS)
        self._by_key = {key: schema for (key, _mode), schema in generated.items()}
        self.components: dict[str, Any] = dict(definitions.get("$defs", {}))
        self.components.setdefault(ERROR_COMPONENT, self._by_key[("error", ERROR_COMPONENT)])
        self.error = {"$ref": COMPONENTS.format(model=ERROR_COMPONENT)}

    def query(self, op: Operation) -> dict:
        return self._resolve(self._by_key[(op.operation_id, "query")])

    def body(self, op: Operation) -> dict:
        return self._by_key[(op.operation_id, "body")]

    def reply(self, op: Operation, index: int) -> dict:
        return self._by_key[(op.operation_id, f"reply{index}")]

    def used_by(self, paths: dict) -> dict:
        """The components `paths` refer to, directly or through other components (a query
        model's own schema is not one: its fields became parameters)."""
        used: set[str] = set()
        pending = list(_references(paths))
        while pending:
            name = pending.pop()
            if name not in used:
                used.add(name)
                pending.extend(_references(self.components[name]))
        return {name: schema for name, schema in sorted(self.components.items()) if name in used}

    def _resolve(self, schema: dict) -> dict:
        """A model given as a reference, followed to its object schema (for its properties)."""
        ref = schema.get("$ref", "")
        name = ref.rsplit("/", 1)[-1]
        return self.components.get(name, schema) if ref else schema


def _references(node: Any) -> list[str]:
    """The component names every `$ref` inside `node` points at."""
    found: list[str] = []
    pending = [node]
    prefix = COMPONENTS.format(model="")
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix):
                found.append(ref[len(prefix) :])
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return found


def _operation(op: Operation, schemas: _Schemas) -> dict:
    document: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "description": _description(op),
        "tags": [op.tag],
        "parameters": _parameters(op, schemas),
        "responses": _responses(op, schemas),
        "security": _security(op),
        "x-roles": [] if op.access is Access.CUSTOMER else list(_roles(op)),
    }
    if op.deprecated:
        document["deprecated"] = True
    if op.body is not None:
        document["requestBody"] = _request_body(op, schemas)
    return document


def _description(op: Operation) -> str:
    parts = [op.description] if op.description else []
    if op.access is Access.CUSTOMER:
        parts.append(
            "**Token:** a signed-in customer's (oauth2); acts on the caller's own account."
        )
    else:
        parts.append(
            "**Token:** a service's (oauth2-client) or a team member's (oauth2) holding one of "
            "the roles " + ", ".join(f"`{role}`" for role in _roles(op)) + "."
        )
    return "\n\n".join(parts)


def _parameters(op: Operation, schemas: _Schemas) -> list[dict]:
    parameters = [
        {
            "name": param.name,
            "in": "path",
            "required": True,
            "description": param.description,
            "schema": param.schema(),
        }
        for param in op.path_params
    ]
    if op.query is not None:
        model = schemas.query(op)
        required = set(model.get("required", ()))
        for name, prop in model.get("properties", {}).items():
            schema = _without_null(prop)
            parameter: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": schema,
            }
            if "description" in schema:
                parameter["description"] = schema.pop("description")
            if schema.get("type") == "array":
                parameter |= {"style": "form", "explode": True}
            parameters.append(parameter)
    parameters.append(dict(TENANT_HEADER))
    return parameters


def _without_null(schema: dict) -> dict:
    """A query parameter's schema without pydantic's `null` arm and `default: null`: leaving a
    parameter out is how one says None, and no value in a query string reads as null."""
    schema = {key: value for key, value in schema.items() if key != "title"}
    if schema.get("default", 0) is None:
        del schema["default"]
    arms = schema.get("anyOf")
    if arms:
        kept = [arm for arm in arms if arm != {"type": "null"}]
        del schema["anyOf"]
        if len(kept) == 1:
            schema = {**kept[0], **schema}
        else:
            schema["anyOf"] = kept
    return schema


def _request_body(op: Operation, schemas: _Schemas) -> dict:
    schema = schemas.body(op)
    return {
        "required": not _accepts_none(op.body),
        "content": {content_type: {"schema": schema} for content_type in op.body_content_types},
    }


def _accepts_none(body: Any) -> bool:
    try:
        TypeAdapter(body).validate_python(None)
    except ValueError:
        return False
    return True


def _responses(op: Operation, schemas: _Schemas) -> dict:
    responses: dict[str, dict] = {}
    for index, reply in enumerate(op.replies):
        response = responses.setdefault(str(reply.status), {"description": reply.description})
        if reply.status == 204:
            continue
        content = _reply_content(reply, schemas.reply(op, index) if reply.body else None, schemas)
        if content is not None:
            response.setdefault("content", {})[reply.content_type] = content
        for header in reply.headers:
            schema, description = HEADER_SCHEMAS.get(header, ({"type": "string"}, header))
            response.setdefault("headers", {})[header] = {
                "description": description,
                "schema": schema,
            }
    errors = dict(COMMON_ERRORS)
    if op.body is not None:
        errors |= BODY_ERRORS
    for status, description in errors.items():
        responses.setdefault(
            str(status),
            {
                "description": description,
                "content": {"application/json": {"schema": schemas.error}},
            },
        )
    responses["401"].setdefault("headers", {})["WWW-Authenticate"] = {
        "description": "How to authenticate: `Bearer`.",
        "schema": {"type": "string", "pattern": "^Bearer"},
    }
    return dict(sorted(responses.items()))


def _reply_content(reply: Reply, schema: dict | None, schemas: _Schemas) -> dict | None:
    if schema is not None:
        return {"schema": schema}
    if reply.status >= 400:
        return {"schema": schemas.error}
    if reply.content_type != "application/json":
        return {"schema": {"type": "string"}}  # a CSV or JSON-lines file
    return None


def _security(op: Operation) -> list[dict]:
    """Alternatives, any one of which admits the caller (OpenAPI reads the scopes listed in one
    requirement as all needed, so each role is its own alternative)."""
    if op.access is Access.CUSTOMER:
        return [{"oauth2": []}]
    return [{scheme: [role]} for scheme in ("oauth2", "oauth2-client") for role in _roles(op)]


def _roles(op: Operation) -> tuple[str, ...]:
    """The roles that admit a staff caller: ROLE_SU always does (Principal.has_any_role)."""
    return op.roles if SUPERUSER in op.roles else (SUPERUSER, *op.roles)


def _security_schemes(token_url: str) -> dict:
    """OpenAPI 3.1 wants the token URL absolute; both flows share it, and refresh there too."""
    jwt = " The access token is a signed JWT (`exp`, `sub`, tenant and roles claims)."
    return {
        "oauth2": {
            "type": "oauth2",
            "description": "A person's token: a team member (e-mail and password through an "
            "`admin-app` client) or a customer (login and one-time code through a "
            "`customer-app` client)." + jwt,
            "flows": {
                "password": {"tokenUrl": token_url, "refreshUrl": token_url, "scopes": ROLES}
            },
        },
        "oauth2-client": {
            "type": "oauth2",
            "description": "A service's own token (client credentials of a `service` client)."
            + jwt,
            "flows": {
                "clientCredentials": {
                    "tokenUrl": token_url,
                    "refreshUrl": token_url,
                    "scopes": ROLES,
                }
            },
        },
    }
