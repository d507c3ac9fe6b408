"""The yardstick: a bare Flask JSON endpoint, served by gunicorn beside the app under test.

It parses the same bodies the webhooks get and answers a small JSON, so the ratio of their
requests/s to this one's is what the loyalty logic (signature, database, rules) costs on top of
Flask and gunicorn on this machine.
"""

from __future__ import annotations

from flask import Flask, request

app = Flask(__name__)


@app.post("/bare")
def bare():
    body = request.get_json()
    return {"ok": True, "fields": len(body)}
