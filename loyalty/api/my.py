"""The my* operations: a signed-in customer reads and changes their own account, and nothing
else: the account is always the token's, never one named in the request.

A customer may change their name, birthdate and sex, and only the tags and properties named
`my_...`; every other tag and property is the restaurant's.
"""

from __future__ import annotations

from ..models import Account
from ..services.accounts.overview import overviews
from ..services.accounts.self_service import set_own_properties, update_own_profile
from ..services.campaigns.account_campaigns import account_memberships
from ..services.scoping import get_for_tenant
from . import api
from .operations import Access, Reply, operation
from .principal import Principal
from .schemas.accounts import ApiAccount, MyCampaign, MyProfile, MyProperties

MY_ACCOUNT = Reply(200, "the caller's account", ApiAccount)


@operation(
    api,
    "getMyAccount",
    "GET",
    "/my/account",
    summary="The caller's own account",
    tag="my",
    access=Access.CUSTOMER,
    replies=(MY_ACCOUNT,),
)
def get_my_account(principal: Principal) -> ApiAccount:
    return _mine(principal)


@operation(
    api,
    "setMyProfile",
    "PUT",
    "/my/profile",
    summary="Change the caller's name, birthdate or sex",
    tag="my",
    access=Access.CUSTOMER,
    body=MyProfile,
    replies=(MY_ACCOUNT, Reply(400, "a field is not valid")),
)
def set_my_profile(principal: Principal, body: MyProfile) -> ApiAccount:
    """Fields left out stay as they are; null clears one. Campaigns that let accounts join
    later (dynamic) see the new profile at once."""
    update_own_profile(principal.tenant_id, _account_id(principal), body.changes())
    return _mine(principal)


@operation(
    api,
    "setMyProperties",
    "PUT",
    "/my/properties",
    summary="Set the caller's my_ properties and add or remove my_ tags",
    tag="my",
    access=Access.CUSTOMER,
    body=MyProperties,
    replies=(MY_ACCOUNT, Reply(400, "a name is not my_...: nothing was changed")),
)
def set_my_properties(principal: Principal, body: MyProperties) -> ApiAccount:
    set_own_properties(
        principal.tenant_id,
        _account_id(principal),
        body.properties,
        body.add_tags,
        body.remove_tags,
    )
    return _mine(principal)


@operation(
    api,
    "getMyCampaigns",
    "GET",
    "/my/campaigns",
    summary="The caller's campaigns and the state they are in",
    tag="my",
    access=Access.CUSTOMER,
    replies=(Reply(200, "the caller's memberships, newest first", list[MyCampaign]),),
)
def get_my_campaigns(principal: Principal) -> list[MyCampaign]:
    memberships = account_memberships(principal.tenant_id, _account_id(principal))
    return [MyCampaign.of(membership) for membership in memberships]


def _account_id(principal: Principal) -> int:
    assert principal.account_id is not None  # Access.CUSTOMER guarantees it
    return principal.account_id


def _mine(principal: Principal) -> ApiAccount:
    account = get_for_tenant(Account, _account_id(principal), principal.tenant_id)
    return ApiAccount.of(overviews(principal.tenant_id, [account])[0])
