"""Roles: staff see rewards and tiers but change nothing; settings and team are for owners."""

from __future__ import annotations

import pytest

from loyalty.extensions import db
from loyalty.services.setup.rewards import RewardDetails, create_reward
from loyalty.services.setup.tiers import TierDetails, create_tier
from tests.support.forms import reward_form


@pytest.fixture()
def catalogue(tenant):
    """One reward (archived or not does not matter for the checks) and one tier."""
    tier = create_tier(tenant.id, TierDetails("Gold", 1000, 150))
    reward = create_reward(tenant.id, RewardDetails("€5 off", "discount_amount", 100, 500))
    return reward, tier


OWNER_ONLY = [
    ("GET", lambda reward, tier: "/rewards/new"),
    ("POST", lambda reward, tier: "/rewards/new"),
    ("POST", lambda reward, tier: f"/rewards/{reward.id}"),
    ("POST", lambda reward, tier: f"/rewards/{reward.id}/archive"),
    ("POST", lambda reward, tier: f"/rewards/{reward.id}/restore"),
    ("GET", lambda reward, tier: "/tiers/new"),
    ("POST", lambda reward, tier: "/tiers/new"),
    ("POST", lambda reward, tier: f"/tiers/{tier.id}"),
    ("POST", lambda reward, tier: f"/tiers/{tier.id}/delete"),
    ("GET", lambda reward, tier: "/settings/"),
    ("POST", lambda reward, tier: "/settings/"),
    ("POST", lambda reward, tier: "/settings/api-key"),
    ("POST", lambda reward, tier: "/settings/webhook-secret"),
    ("GET", lambda reward, tier: "/team/"),
    ("POST", lambda reward, tier: "/team/"),
]

# Each page with something the catalogue puts on it.
VIEWABLE_BY_STAFF = [
    (lambda reward, tier: "/rewards/", "€5 off"),
    (lambda reward, tier: "/rewards/?archived=1", "<h1>Rewards"),
    (lambda reward, tier: f"/rewards/{reward.id}", "€5 off"),
    (lambda reward, tier: "/rewards/fields?type=free_item", "PLU"),
    (lambda reward, tier: "/tiers/", "Gold"),
    (lambda reward, tier: f"/tiers/{tier.id}", "Gold"),
]


@pytest.mark.parametrize(("method", "url"), OWNER_ONLY)
def test_staff_get_403_on_every_change_and_owner_page(staff_client, catalogue, method, url):
    response = staff_client.open(url(*catalogue), method=method, data=reward_form())
    assert response.status_code == 403
    assert b"Ask an owner of your team" in response.data


@pytest.mark.parametrize(("method", "url"), OWNER_ONLY)
def test_signed_out_visitors_are_sent_to_sign_in(client, catalogue, method, url):
    response = client.open(url(*catalogue), method=method)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize(("url", "shown"), VIEWABLE_BY_STAFF)
def test_staff_can_view_rewards_and_tiers(staff_client, catalogue, url, shown):
    response = staff_client.get(url(*catalogue))
    assert response.status_code == 200
    assert shown in response.get_data(as_text=True)


@pytest.mark.parametrize(("url", "shown"), VIEWABLE_BY_STAFF)
def test_owner_can_view_everything_staff_can(owner_client, catalogue, url, shown):
    response = owner_client.get(url(*catalogue))
    assert response.status_code == 200
    assert shown in response.get_data(as_text=True)


@pytest.mark.parametrize(("method", "url"), [item for item in OWNER_ONLY if item[0] == "GET"])
def test_owner_opens_the_owner_pages(owner_client, catalogue, method, url):
    assert owner_client.get(url(*catalogue)).status_code == 200


def test_staff_see_rewards_read_only(staff_client, catalogue):
    reward, _ = catalogue
    page = staff_client.get(f"/rewards/{reward.id}").get_data(as_text=True)
    assert "Only owners can change rewards" in page
    assert '<fieldset class="plain" disabled>' in page
    assert "Save changes" not in page
    assert "Archive</button>" not in page
    listing = staff_client.get("/rewards/").get_data(as_text=True)
    assert "New reward" not in listing
    assert "Archive</button>" not in listing


def test_staff_see_tiers_read_only(staff_client, catalogue):
    _, tier = catalogue
    page = staff_client.get(f"/tiers/{tier.id}").get_data(as_text=True)
    assert "Only owners can change tiers" in page
    assert "Save changes" not in page
    assert "Delete</button>" not in staff_client.get("/tiers/").get_data(as_text=True)


def test_a_refused_change_changes_nothing(staff_client, catalogue):
    reward, tier = catalogue
    staff_client.post(f"/rewards/{reward.id}", data=reward_form(title="Hacked", value="99"))
    staff_client.post(f"/tiers/{tier.id}/delete")
    db.session.expire_all()
    assert (reward.title, reward.value) == ("€5 off", 500)
    assert tier.name == "Gold"


def test_navigation_shows_staff_only_what_they_may_open(staff_client):
    nav = staff_client.get("/").get_data(as_text=True).split("</nav>")[0]
    assert 'href="/rewards/"' in nav
    assert 'href="/tiers/"' in nav
    assert 'href="/settings/"' not in nav
    assert 'href="/team/"' not in nav


def test_navigation_shows_owners_every_page(owner_client):
    nav = owner_client.get("/").get_data(as_text=True).split("</nav>")[0]
    for href in ("/rewards/", "/tiers/", "/settings/", "/team/"):
        assert f'href="{href}"' in nav
