"""The browser dashboard: one blueprint per page group."""
from __future__ import annotations

from flask import Flask
from flask_login import current_user

from ..extensions import login_manager
from ..rules.earning import describe as describe_earning
from ..rules.money import format_money, format_percent, format_points
from ..time import format_date, format_datetime, format_time, to_iso
from .auth.sessions import load_user
from .converters import RowIdConverter

# Navigation in display order; owner-only pages are hidden from everyone else.
NAV_ITEMS = (
    ("home.index", "Home"),
    ("stats.overview_page", "Stats"),
    ("rewards.index", "Rewards"),
    ("tiers.index", "Tiers"),
    ("accounts.index", "Accounts"),
    ("segments.index", "Segments"),
    ("campaigns.index", "Campaigns"),
    ("coupons.index", "Coupons"),
    ("integration.index", "Integration"),
    ("api_clients.index", "API clients"),
    ("settings.index", "Settings"),
    ("team.index", "Team"),
)


def register_dashboard(app: Flask) -> None:
    from .accounts import bp as accounts
    from .api_clients import bp as api_clients
    from .auth import bp as auth
    from .campaigns import bp as campaigns
    from .coupons import bp as coupons
    from .home import bp as home
    from .integration import bp as integration
    from .notifications import bp as notifications
    from .rewards import bp as rewards
    from .segments import bp as segments
    from .settings import bp as settings
    from .stats import bp as stats
    from .team import bp as team
    from .tiers import bp as tiers

    # Before any rule is added: rules bind their converters when registered.
    app.url_map.converters["int"] = RowIdConverter
    for blueprint in (
        auth,
        home,
        stats,
        rewards,
        tiers,
        accounts,
        segments,
        campaigns,
        coupons,
        integration,
        api_clients,
        settings,
        notifications,
        team,
    ):
        app.register_blueprint(blueprint)

    @app.context_processor
    def navigation() -> dict:
        views = app.view_functions
        is_owner = getattr(current_user, "is_owner", False)
        return {
            "nav_items": [
                (endpoint, label)
                for endpoint, label in NAV_ITEMS
                if is_owner or not getattr(views[endpoint], "owner_only", False)
            ]
        }

    app.add_template_filter(format_money, "money")
    app.add_template_filter(format_percent, "percent")
    app.add_template_filter(format_points, "points")
    app.add_template_filter(format_points, "number")  # counts of accounts, orders, pages
    app.add_template_filter(describe_earning, "earning")  # "12 = 10 spend + 2 stamps"
    # Moments read in UTC everywhere; `iso` is for <time datetime="...">.
    app.add_template_filter(format_date, "date")
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_filter(format_time, "time")
    app.add_template_filter(to_iso, "iso")

    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"

    login_manager.user_loader(load_user)
