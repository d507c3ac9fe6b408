"""`flask loyalty api-clients create|list|revoke`: a secret printed once, clear errors."""

from __future__ import annotations

import json

from loyalty.services.setup.api_clients import create_client, find_client, secret_matches

CREATE = ["loyalty", "api-clients", "create"]


def test_create_prints_the_client_id_and_secret_as_json(runner, tenant):
    result = runner.invoke(
        args=[
            *CREATE,
            "--tenant",
            "trattoria",
            "--name",
            "Till",
            "--roles",
            "ROLE_LOYALTY,ROLE_LOYALTY_STATS",
        ]
    )

    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert set(printed) == {"clientId", "clientSecret"}
    client = find_client(printed["clientId"])
    assert (client.tenant_id, client.name, client.kind) == (tenant.id, "Till", "service")
    assert client.roles == ["ROLE_LOYALTY", "ROLE_LOYALTY_STATS"]
    assert secret_matches(client, printed["clientSecret"])
    assert printed["clientSecret"] not in client.secret_hash


def test_create_an_admin_app_needs_no_roles(runner, tenant):
    result = runner.invoke(
        args=[*CREATE, "--tenant", "trattoria", "--name", "Back office", "--kind", "admin-app"]
    )
    assert result.exit_code == 0, result.output
    client = find_client(json.loads(result.output)["clientId"])
    assert (client.kind, client.roles) == ("admin-app", [])


def test_list_shows_every_client_and_no_secret(runner, tenant, other_tenant):
    till = create_client(tenant.id, "Till", ["ROLE_LOYALTY"])
    create_client(tenant.id, "Guest app", kind="customer-app")
    create_client(other_tenant.id, "Their till", ["ROLE_LOYALTY"])

    result = runner.invoke(args=["loyalty", "api-clients", "list", "--tenant", "trattoria"])

    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert {line["name"] for line in lines} == {"Till", "Guest app"}
    listed = next(line for line in lines if line["name"] == "Till")
    assert listed["clientId"] == till.client.client_id
    assert (listed["kind"], listed["roles"], listed["status"]) == (
        "service",
        ["ROLE_LOYALTY"],
        "live",
    )
    assert listed["lastUsedAt"] is None
    assert till.client_secret not in result.output and till.client.secret_hash not in result.output


def test_revoke_marks_the_client_revoked(runner, tenant):
    till = create_client(tenant.id, "Till", ["ROLE_LOYALTY"])
    client_id = till.client.client_id

    result = runner.invoke(
        args=["loyalty", "api-clients", "revoke", "--tenant", "trattoria", client_id]
    )

    assert result.exit_code == 0, result.output
    assert f"revoked {client_id}" in result.output
    assert find_client(client_id).revoked_at is not None
    listed = runner.invoke(args=["loyalty", "api-clients", "list", "--tenant", "trattoria"])
    assert json.loads(listed.output)["status"] == "revoked"


def test_another_restaurants_client_cannot_be_revoked(runner, tenant, other_tenant):
    theirs = create_client(other_tenant.id, "Their till", ["ROLE_LOYALTY"])
    result = runner.invoke(
        args=["loyalty", "api-clients", "revoke", "--tenant", "trattoria", theirs.client.client_id]
    )
    assert result.exit_code == 1
    assert f"no client '{theirs.client.client_id}' at trattoria" in result.output
    assert find_client(theirs.client.client_id).revoked_at is None


def test_an_unknown_tenant_is_a_clear_error(runner, app):
    result = runner.invoke(
        args=[*CREATE, "--tenant", "nowhere", "--name", "Till", "--roles", "ROLE_LOYALTY"]
    )
    assert result.exit_code == 1
    assert "no tenant 'nowhere'" in result.output
    assert "Traceback" not in result.output
    listed = runner.invoke(args=["loyalty", "api-clients", "list", "--tenant", "nowhere"])
    assert listed.exit_code == 1 and "no tenant 'nowhere'" in listed.output


def test_a_bad_role_or_a_service_without_roles_is_refused(runner, tenant):
    bad = runner.invoke(
        args=[*CREATE, "--tenant", "trattoria", "--name", "Till", "--roles", "ROLE_ROOT"]
    )
    assert bad.exit_code == 1
    assert "roles: unknown role ROLE_ROOT" in bad.output
    assert "Traceback" not in bad.output
    none = runner.invoke(args=[*CREATE, "--tenant", "trattoria", "--name", "Till"])
    assert none.exit_code == 1
    assert "a service client needs at least one role" in none.output
    kind = runner.invoke(
        args=[*CREATE, "--tenant", "trattoria", "--name", "Till", "--kind", "robot"]
    )
    assert kind.exit_code == 2  # click's usage error, naming the choices
    assert "service" in kind.output and "customer-app" in kind.output
    listed = runner.invoke(args=["loyalty", "api-clients", "list", "--tenant", "trattoria"])
    assert listed.output == ""
