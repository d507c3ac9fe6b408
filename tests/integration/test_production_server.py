"""The demo's production server (item 10): gunicorn with one worker and threads, on SQLite."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from loyalty.extensions import db
from loyalty.services.setup.team import create_user
from loyalty.services.setup.tenants import create_tenant
from tests.support.app import PASSWORD, make_app
from tests.support.postgres import free_port


def demo_server_arguments(project_root) -> list[str]:
    """gunicorn's arguments exactly as scripts/demo.sh passes them."""
    last = (project_root / "scripts" / "demo.sh").read_text().strip().splitlines()[-1]
    words = shlex.split(last)
    assert words[:2] == ["exec", ".venv/bin/gunicorn"], last
    return words[2:]


def test_demo_serves_with_one_threaded_gunicorn_worker(project_root):
    arguments = demo_server_arguments(project_root)
    assert arguments[arguments.index("--workers") + 1] == "1"
    assert int(arguments[arguments.index("--threads") + 1]) > 1
    assert arguments[arguments.index("--bind") + 1] == "127.0.0.1:5000"
    assert arguments[-1] == "app:app"


def test_threaded_gunicorn_serves_parallel_sign_ins_on_sqlite(project_root, scratch_dir):
    database = f"sqlite:///{scratch_dir / 'loyalty.db'}"
    app = make_app(database)
    with app.app_context():
        db.create_all()
        tenant, _credentials = create_tenant("trattoria", "Trattoria Roma")
        emails = [f"member{n}@trattoria.test" for n in range(8)]
        for email in emails:
            create_user(tenant.id, email, PASSWORD)
        db.engine.dispose()

    port = free_port()
    arguments = demo_server_arguments(project_root)
    arguments[arguments.index("--bind") + 1] = f"127.0.0.1:{port}"
    env = {
        **os.environ,
        "LOYALTY_DATABASE_URL": database,
        "LOYALTY_SECRET_KEY": "gunicorn-test-secret-key",
        "LOYALTY_WTF_CSRF_ENABLED": "false",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *arguments],
        cwd=project_root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/login", timeout=10)
                break
            except (requests.ConnectionError, requests.Timeout):  # not up yet, or a loaded machine
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)

        def sign_in_and_open_home(email: str) -> tuple[int, str, str]:
            with requests.Session() as browser:
                login = browser.post(
                    f"{base}/login",
                    data={"email": email, "password": PASSWORD},
                    allow_redirects=False,
                    timeout=20,
                )
                home = browser.get(f"{base}/", timeout=20)
                return login.status_code, home.headers.get("Server", ""), home.text

        with ThreadPoolExecutor(len(emails)) as pool:
            answers = list(pool.map(sign_in_and_open_home, emails))
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert [status for status, _server, _page in answers] == [302] * len(emails)
    assert all(server_name.startswith("gunicorn") for _status, server_name, _page in answers)
    assert all("Last 30 days" in page for _status, _server, page in answers)
