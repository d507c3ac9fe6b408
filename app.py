"""Entry point for `flask --app app ...` and `gunicorn app:app`."""
from loyalty import create_app

app = create_app()
