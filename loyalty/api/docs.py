"""The OpenAPI document and its reference page."""

from flask import Blueprint

docs = Blueprint("docs", __name__)
