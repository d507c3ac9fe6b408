"""HTTPS and headers (item 9), private instance files (item 10): what every response carries."""

from __future__ import annotations

import os
import re
import stat

import pytest
from flask import Flask

from loyalty.config import load_settings
from loyalty.extensions import db
from loyalty.security import CONTENT_SECURITY_POLICY
from loyalty.services.setup.team import create_user
from loyalty.services.setup.tenants import create_tenant
from tests.support.app import PASSWORD, make_app

HTTPS_PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}


def _login(client, email: str, **headers):
    return client.post(
        "/login", data={"email": email, "password": PASSWORD, "remember": "y"}, headers=headers
    )


def test_behind_an_https_proxy_the_session_and_remember_cookies_are_secure(database_url, owner):
    app = make_app(database_url, PROXY_FIX_HOPS=1)
    with app.test_client() as browser:
        response = _login(browser, owner.email, **HTTPS_PROXY)
        assert response.status_code == 302
        cookies = response.headers.getlist("Set-Cookie")
        assert {c.split("=")[0] for c in cookies} >= {"session", "remember_token"}
        assert all("; Secure" in c for c in cookies), cookies
        logout = browser.post("/logout", headers=HTTPS_PROXY)
        assert all("; Secure" in c for c in logout.headers.getlist("Set-Cookie"))


def test_over_plain_http_cookies_are_not_secure_so_the_local_demo_works(database_url, owner):
    app = make_app(database_url, PROXY_FIX_HOPS=1)
    with app.test_client() as browser:
        cookies = _login(browser, owner.email).headers.getlist("Set-Cookie")
        assert cookies and not any("Secure" in c for c in cookies)


def test_without_proxy_fix_a_forwarded_proto_header_is_not_trusted(database_url, owner):
    app = make_app(database_url)
    with app.test_client() as browser:
        response = _login(browser, owner.email, **HTTPS_PROXY)
        assert not any("Secure" in c for c in response.headers.getlist("Set-Cookie"))
        assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize(
    "path", ["/login", "/", "/static/css/app.css", "/no-such-page", "/webhooks/no-such-hook"]
)
def test_every_response_refuses_sniffing_and_framing_and_carries_the_csp(client, path):
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    csp = response.headers["Content-Security-Policy"]
    assert csp == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_hsts_is_sent_only_over_https(database_url):
    app = make_app(database_url, PROXY_FIX_HOPS=1)
    with app.test_client() as browser:
        assert "Strict-Transport-Security" not in browser.get("/login").headers
        secure = browser.get("/login", headers=HTTPS_PROXY)
        assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_templates_have_no_inline_scripts_styles_or_handlers(project_root):
    """The CSP forbids them; a browser test checks the pages too, this names the file."""
    forbidden = re.compile(
        r"<script(?![^>]*\ssrc=)|<style|\sstyle=|\son[a-z]+=|hx-on|javascript:|js:", re.I
    )
    found = [
        f"{path.relative_to(project_root)}: {match.group(0)}"
        for path in sorted((project_root / "templates").rglob("*.html"))
        for match in forbidden.finditer(path.read_text())
    ]
    assert found == []


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_sqlite_database_and_its_wal_files_are_readable_by_their_owner_only(scratch_dir):
    """Item 10: the database holds webhook secrets."""
    database = scratch_dir / "loyalty.db"
    old_umask = os.umask(0o022)
    try:
        app = make_app(f"sqlite:///{database}")
        with app.app_context():
            db.create_all()
            tenant, _credentials = create_tenant("trattoria", "Trattoria Roma")
            create_user(tenant.id, "owner@trattoria.test", PASSWORD, role="owner")
            modes = {
                name: _mode(scratch_dir / name)
                for name in ("loyalty.db", "loyalty.db-wal", "loyalty.db-shm")
            }
            db.session.remove()
            db.engine.dispose()
    finally:
        os.umask(old_umask)
    assert modes == {"loyalty.db": 0o600, "loyalty.db-wal": 0o600, "loyalty.db-shm": 0o600}


def test_an_existing_world_readable_database_is_made_private_on_connect(scratch_dir):
    database = scratch_dir / "loyalty.db"
    database.touch(mode=0o644)
    os.chmod(database, 0o644)
    app = make_app(f"sqlite:///{database}")
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    assert _mode(database) == 0o600


def _settings_for(instance) -> None:
    load_settings(Flask("loyalty", instance_path=str(instance)), {"SECRET_KEY": None})


def test_the_instance_folder_is_created_private_and_keeps_the_secret_key_0600(scratch_dir):
    old_umask = os.umask(0o022)
    try:
        _settings_for(scratch_dir / "instance")
    finally:
        os.umask(old_umask)
    assert _mode(scratch_dir / "instance") == 0o700
    assert _mode(scratch_dir / "instance" / "secret_key") == 0o600


def test_an_existing_open_instance_folder_is_closed(scratch_dir):
    instance = scratch_dir / "instance"
    instance.mkdir()
    os.chmod(instance, 0o755)
    _settings_for(instance)
    assert _mode(instance) == 0o700
