"""Fixtures shared by the integration tests."""

import pytest

from tests.support.deliverect import Deliverect


@pytest.fixture()
def deliverect(client, tenant) -> Deliverect:
    """Deliverect with the tenant's channel registered, as after a restaurant's set-up."""
    channel = Deliverect(client, tenant)
    channel.register()
    return channel
