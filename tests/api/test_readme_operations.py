"""The README's table of API operations says what the server serves: each operation once, with
its method, path and roles as registered."""

import re

import loyalty.api  # noqa: F401  (importing the app registers the operations)
from loyalty import create_app
from loyalty.api.operations import OPERATIONS, Access

ROW = re.compile(r"^\| `(\w+)`(?: \(deprecated\))? \| (\w+) `([^`]+)` \| ([^|]+) \|$")


def test_the_readme_lists_every_operation_as_registered(project_root):
    create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x", "TESTING": True})
    readme = (project_root / "README.md").read_text(encoding="utf-8")
    listed = {}
    for line in readme.splitlines():
        if match := ROW.match(line.strip()):
            operation_id, method, path, roles = match.groups()
            assert operation_id not in listed, f"{operation_id} is listed twice"
            listed[operation_id] = (method, path, roles.strip())
    expected = {}
    for operation in OPERATIONS.values():
        if operation.access is Access.CUSTOMER:
            roles = "customer"
        else:
            roles = ", ".join(role.removeprefix("ROLE_") for role in operation.roles)
        expected[operation.operation_id] = (operation.method.upper(), operation.path, roles)
    assert listed == expected
