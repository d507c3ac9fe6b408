"""What browser tests share: the live server, a restaurant made for one test, signing in."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from playwright.sync_api import Page, expect


@dataclass
class LiveServer:
    app: Flask
    url: str


@dataclass
class Restaurant:
    tenant_id: int
    slug: str
    email: str
    password: str


def sign_in(page: Page, restaurant: Restaurant) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(restaurant.email)
    page.get_by_label("Password").fill(restaurant.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Last 30 days")).to_be_visible()
