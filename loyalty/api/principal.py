"""Who is calling: what the access token says, checked against the database on every request."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

SUPERUSER = "ROLE_SU"


@dataclass(frozen=True)
class Principal:
    tenant_id: int
    tenant_slug: str
    # client (a service's own token), user (a team member), customer, anonymous (a guest app
    # before sign-in): models.api.SUBJECT_KINDS.
    subject_kind: str
    roles: frozenset[str]
    client_row_id: int
    token_id: int
    user_id: int | None = None
    account_id: int | None = None

    def has_any_role(self, roles: Iterable[str]) -> bool:
        """ROLE_SU may do everything; anyone else needs one of `roles`."""
        return SUPERUSER in self.roles or not self.roles.isdisjoint(roles)

    @property
    def is_customer(self) -> bool:
        return self.subject_kind == "customer" and self.account_id is not None
