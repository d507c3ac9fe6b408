"""Deliverect loyalty-provider webhooks."""
from flask import Blueprint

webhooks = Blueprint("webhooks", __name__)
