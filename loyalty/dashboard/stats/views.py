"""Stats pages and their CSVs: parse the range, call the reporting service, render.

Each page answers the whole page, or for htmx (the range form) only its body, so the address
keeps the range and the back button works; every chart's numbers are also a table and a CSV.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode

from flask import Response, abort, make_response, redirect, render_template, request, url_for
from flask_login import login_required

from ...models import Tenant, utcnow
from ...rules.periods import Period, local_day
from ...services.campaigns.stats import campaigns_side_by_side
from ...services.reporting.cohorts import cohorts
from ...services.reporting.exports import csv_lines, safe_cell
from ...services.reporting.overview import (
    OVERVIEW_COLUMNS,
    coupons_by_campaign,
    overview,
    overview_rows,
    rewards_redeemed,
)
from ...services.reporting.segment_stats import segment_stats
from ..access import current_tenant
from ..storable import refuse_unstorable_text
from . import bp
from .figures import SHARE_BANDS, as_percent, change_of, share_band
from .forms import PRESET_LABELS, StatsRange, parse_range

# The tabs between the pages, in order: (endpoint, label).
TABS = (
    ("stats.overview_page", "Overview"),
    ("stats.cohorts_page", "Retention cohorts"),
    ("stats.campaigns_page", "Campaigns"),
    ("stats.segments_page", "Segments"),
)
REWARD_COLUMNS = ("reward_id", "title", "redemptions", "points")
COUPON_COLUMNS = ("campaign", "name", "issued", "redeemed")
CAMPAIGN_COLUMNS = (
    "campaign",
    "name",
    "type",
    "status",
    "members",
    "coupons_issued",
    "coupons_redeemed",
    "coupons_expired",
    "messages_sent",
    "messages_acknowledged",
    "orders",
    "revenue",
)
SEGMENT_COLUMNS = ("breakdown", "group", "label", "members", "new_members", "change")

bp.before_request(refuse_unstorable_text)
bp.add_app_template_filter(as_percent, "ratio")
bp.add_app_template_global(change_of, "change_of")
bp.add_app_template_global(share_band, "share_band")


@bp.route("/")
@login_required
def overview_page():
    tenant = current_tenant()
    chosen = _chosen(tenant)
    figures = None
    locations: tuple[str, ...] = ()
    if chosen.period:
        figures = overview(tenant.id, chosen.period, utcnow(), chosen.location)
        locations = figures.locations
    if chosen.location and chosen.location not in locations:
        locations = (*locations, chosen.location)  # keep what was asked for selected
    return _page("overview", chosen, overview=figures, locations=locations)


@bp.route("/cohorts")
@login_required
def cohorts_page():
    tenant = current_tenant()
    chosen = _chosen(tenant)
    table = cohorts(tenant.id, tenant.time_zone, _today(tenant))
    most = max((len(cohort.active) for cohort in table.cohorts), default=0)
    return _page("cohorts", chosen, cohorts=table, months=range(most), share_bands=SHARE_BANDS)


@bp.route("/campaigns")
@login_required
def campaigns_page():
    tenant = current_tenant()
    chosen = _chosen(tenant)
    return _page("campaigns", chosen, campaigns=campaigns_side_by_side(tenant.id, utcnow()))


@bp.route("/segments")
@login_required
def segments_page():
    tenant = current_tenant()
    chosen = _chosen(tenant)
    stats = segment_stats(tenant.id, chosen.period, utcnow()) if chosen.period else None
    return _page("segments", chosen, segments=stats)


@bp.route("/overview.csv")
@login_required
def overview_csv():
    tenant = current_tenant()
    chosen = _csv_range(tenant)
    figures = overview(tenant.id, chosen.period, utcnow(), chosen.location)
    return _csv(tenant, "overview", [OVERVIEW_COLUMNS, *overview_rows(figures)], chosen.period)


@bp.route("/rewards.csv")
@login_required
def rewards_csv():
    tenant = current_tenant()
    chosen = _csv_range(tenant)
    redeemed = rewards_redeemed(tenant.id, chosen.period, utcnow(), chosen.location)
    rows = [[r.reward_id, r.title, r.redemptions, r.points] for r in redeemed]
    return _csv(tenant, "rewards", [REWARD_COLUMNS, *rows], chosen.period)


@bp.route("/coupons.csv")
@login_required
def coupons_csv():
    tenant = current_tenant()
    chosen = _csv_range(tenant)
    coupons = coupons_by_campaign(tenant.id, chosen.period, chosen.location)
    rows = [[c.campaign_key, c.name, c.issued, c.redeemed] for c in coupons]
    return _csv(tenant, "coupons", [COUPON_COLUMNS, *rows], chosen.period)


@bp.route("/cohorts.csv")
@login_required
def cohorts_csv():
    tenant = current_tenant()
    table = cohorts(tenant.id, tenant.time_zone, _today(tenant))
    most = max((len(cohort.active) for cohort in table.cohorts), default=0)
    header = ["month", "members", *(f"active_month_{i}" for i in range(most))]
    rows = [
        [cohort.month.isoformat(), cohort.members, *cohort.active]
        + [""] * (most - len(cohort.active))
        for cohort in table.cohorts
    ]
    return _csv(tenant, "cohorts", [header, *rows])


@bp.route("/campaigns.csv")
@login_required
def campaigns_csv():
    tenant = current_tenant()
    rows = [
        [
            c.key,
            c.name,
            c.type,
            c.status,
            c.members,
            c.coupons_issued,
            c.coupons_redeemed,
            c.coupons_expired,
            c.messages_sent,
            c.messages_acknowledged,
            c.orders,
            c.revenue,
        ]
        for c in campaigns_side_by_side(tenant.id, utcnow())
    ]
    return _csv(tenant, "campaigns", [CAMPAIGN_COLUMNS, *rows])


@bp.route("/segments.csv")
@login_required
def segments_csv():
    tenant = current_tenant()
    chosen = _csv_range(tenant)
    stats = segment_stats(tenant.id, chosen.period, utcnow())
    rows = [
        [breakdown.key, group.group, group.label, group.members, group.new_members, group.change]
        for breakdown in stats.breakdowns
        for group in breakdown.groups
    ]
    return _csv(tenant, "segments", [SEGMENT_COLUMNS, *rows], chosen.period)


def _today(tenant: Tenant):
    return local_day(utcnow(), tenant.time_zone)


def _chosen(tenant: Tenant) -> StatsRange:
    return parse_range(request.args, _today(tenant), tenant.time_zone)


def _csv_range(tenant: Tenant) -> StatsRange:
    chosen = _chosen(tenant)
    if chosen.errors:
        abort(
            400, "The range has errors: " + "; ".join(f"{k} {v}" for k, v in chosen.errors.items())
        )
    return chosen


def _wants_body_only() -> bool:
    """htmx asking for the body (the range form), not restoring a whole page from history."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def _page(name: str, chosen: StatsRange, **context) -> Response:
    endpoint = f"stats.{name}_page"
    canonical = url_for(endpoint, **chosen.args())
    body_only = _wants_body_only()
    if not body_only and not chosen.errors and request.args and _asked(chosen):
        return redirect(canonical)  # the form without JavaScript sends every field
    body = f"stats/_{name}.html"
    page = render_template(
        body if body_only else "stats/page.html",
        body=body,
        endpoint=endpoint,
        chosen=chosen,
        tabs=TABS,
        presets=PRESET_LABELS,
        csv_query="?" + urlencode(chosen.args()),
        tenant=current_tenant(),
        **context,
    )
    response = make_response(page)
    # The same URL answers a page or its body: caches must keep them apart. Revenue and what
    # the restaurant owes stay out of shared and disk caches.
    response.vary.add("HX-Request")
    response.headers["Cache-Control"] = "private, no-store"
    if body_only and not chosen.errors:
        response.headers["HX-Push-Url"] = canonical  # not the form's empty fields
    return response


def _asked(chosen: StatsRange) -> bool:
    """Whether the query says more (or otherwise) than its canonical form."""
    asked = request.args.to_dict(flat=False)  # a repeated parameter is not canonical either
    return asked != {name: [value] for name, value in chosen.args().items()}


def _csv(
    tenant: Tenant, name: str, rows: Iterable[Iterable], period: Period | None = None
) -> Response:
    """A download named after what it holds: the range's days when it depends on one (cohorts
    and campaigns do not)."""
    cells = ([safe_cell(value) for value in row] for row in rows)
    response = Response(csv_lines(cells), mimetype="text/csv")
    days = f"-{period.first_day}-{period.last_day}" if period else ""
    filename = f"{tenant.slug}-{name}{days}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
