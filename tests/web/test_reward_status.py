"""The rewards list reads each reward's availability from the one rule the checkout uses."""

from __future__ import annotations

import re
from datetime import timedelta

from loyalty.models import utcnow
from tests.support.deliverect import add_reward


def test_each_reward_shows_whether_customers_can_have_it_now(owner_client, tenant):
    now = utcnow()
    add_reward(tenant, "1", "discount_amount", 10, 100, title="Always")
    add_reward(
        tenant, "2", "discount_amount", 10, 100, title="Later", active_from=now + timedelta(days=1)
    )
    add_reward(
        tenant, "3", "discount_amount", 10, 100, title="Over", active_to=now - timedelta(days=1)
    )
    gone = add_reward(tenant, "4", "discount_amount", 10, 100, title="Gone")
    assert owner_client.post(f"/rewards/{gone.id}/archive").status_code in (302, 303)

    listed = owner_client.get("/rewards/").get_data(as_text=True)
    archived = owner_client.get("/rewards/?archived=1").get_data(as_text=True)

    def badge(html: str, title: str) -> str:
        row = re.search(rf">{title}</a>.*?</tr>", html, re.S).group(0)
        return re.findall(r'<span class="badge[^"]*"[^>]*>(\w+)</span>', row)[-1]

    assert [badge(listed, title) for title in ("Always", "Later", "Over")] == [
        "live",
        "scheduled",
        "ended",
    ]
    assert badge(archived, "Gone") == "archived"
