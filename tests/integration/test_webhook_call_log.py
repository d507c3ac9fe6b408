"""The webhook call log's row is committed without waiting for the WAL flush, and only the
log's own transaction: a transaction that already wrote (points, orders) keeps a durable commit.

PostgreSQL only (SQLite has no such setting): the session turns synchronous_commit on, so the
test server's own `off` cannot make the test pass by itself.
"""

from sqlalchemy import event, text

from loyalty.extensions import db
from loyalty.models import WebhookCall
from loyalty.services.deliverect.call_log import record_call


def _setting_when_logged(app, before=None) -> str:
    """synchronous_commit as it stands right after the log row's INSERT ran."""
    seen = []

    def after(conn, _cursor, statement, *_args):
        if statement.startswith("INSERT INTO webhook_calls"):
            seen.append(conn.exec_driver_sql("SHOW synchronous_commit").scalar())

    db.session.execute(text("SET synchronous_commit = on"))  # for the session, not local
    if before is not None:
        before()
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        record_call(tenant_id=None, endpoint="programs", method="POST", status=200, latency_ms=3)
    finally:
        event.remove(db.engine, "after_cursor_execute", after)
    assert db.session.scalar(text("SHOW synchronous_commit")) == "on"  # it ended with the commit
    return seen[0]


def test_the_log_row_alone_commits_asynchronously(pg_app):
    assert _setting_when_logged(pg_app) == "off"
    assert db.session.query(WebhookCall).count() == 1


def test_a_transaction_that_already_wrote_keeps_a_durable_commit(pg_app):
    def write_first():
        db.session.execute(
            text(
                "INSERT INTO webhook_calls (endpoint, method, status, latency_ms, created_at) "
                "VALUES ('earlier', 'POST', 200, 0, now())"
            )
        )

    assert _setting_when_logged(pg_app, write_first) == "on"
    assert db.session.query(WebhookCall).count() == 2  # both rows committed
