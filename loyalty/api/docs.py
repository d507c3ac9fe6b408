"""The OpenAPI document and its reference page."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request, url_for

from . import PREFIX
from .openapi import openapi_document

docs = Blueprint("docs", __name__)
# Clients (and caches) may keep the document a while: it changes only with a new release.
DOCUMENT_MAX_AGE = 300


@docs.get(PREFIX + "/openapi.json")
def openapi_json() -> Response:
    """Public, like the reference page: it says what the API accepts, nothing about any tenant."""
    response = jsonify(openapi_document(request.url_root.rstrip("/")))
    response.headers["Cache-Control"] = f"public, max-age={DOCUMENT_MAX_AGE}"
    response.vary.add("Host")  # its servers and token URLs name the host asked
    response.add_etag()
    return response.make_conditional(request)


@docs.get("/loyalty-api/docs")
def reference() -> str:
    """The document rendered by the vendored Swagger UI (static/vendor/swagger-ui), which runs
    under the app's default Content-Security-Policy: no inline script or style is needed."""
    return render_template("api_docs/reference.html", document_url=url_for("docs.openapi_json"))
