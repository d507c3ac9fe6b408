"""Segments pages: list with lazily counted members, save from a search, open, delete."""

from __future__ import annotations

from urllib.parse import parse_qsl

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ...models import Segment
from ...services.accounts.search import SearchCriteria, month_names, parse_criteria
from ...services.accounts.segments import (
    SegmentError,
    criteria_of,
    delete_segment,
    list_segments,
    member_count,
    save_segment,
)
from ...services.checkout.catalogue import tier_levels
from ...services.scoping import get_for_tenant
from ..access import current_tenant, owner_required
from ..auth.forms import EmptyForm
from ..storable import refuse_unstorable_text
from . import bp

FILTER_LABELS = {
    "q": "search",
    "tag": "tag",
    "tier": "tier",
    "points_min": "points from",
    "points_max": "points up to",
    "birthday_month": "birthday in",
    "joined_from": "joined from",
    "joined_to": "joined until",
    "ordered_after": "last order on or after",
    "ordered_before": "last order before",
    "consent": "marketing consent",
    "include_retired": "merged and erased included",
}


def describe(criteria: SearchCriteria, tier_names: dict[int, str]) -> list[str]:
    """The segment's filters in words, e.g. ["tag: vip", "birthday in: May"]."""
    months = dict(month_names())
    words = []
    for name, value in criteria.without_sort().to_args().items():
        if name == "tier":
            value = tier_names.get(criteria.tier, "a tier that no longer exists")
        elif name == "birthday_month":
            value = months[criteria.birthday_month]
        elif name == "include_retired":
            words.append(FILTER_LABELS[name])
            continue
        words.append(f"{FILTER_LABELS[name]}: {value}")
    return words


bp.before_request(refuse_unstorable_text)


@bp.route("/")
@login_required
def index():
    tenant = current_tenant()
    tier_names = {level.tier_id: level.name for level in tier_levels(tenant.id)}
    segments = [
        (segment, describe(criteria_of(segment), tier_names))
        for segment in list_segments(tenant.id)
    ]
    return render_template("segments/index.html", segments=segments)


@bp.route("/<int:segment_id>/count")
@login_required
def count(segment_id: int):
    """Counted on demand (hx-trigger="revealed"), so the list shows at once however large."""
    members = member_count(current_tenant().id, segment_id)
    return render_template("segments/_count.html", members=members)


@bp.route("/", methods=["POST"])
@login_required
def create():
    tenant = current_tenant()
    query = request.form.get("query", "")
    criteria, errors = parse_criteria(dict(parse_qsl(query)))
    back = url_for("accounts.index") + (f"?{query}" if query else "")
    if errors:
        flash("The search has errors: fix them before saving it.", "error")
        return redirect(back, 303)
    try:
        segment = save_segment(tenant.id, request.form.get("name", ""), criteria, current_user.id)
    except SegmentError as error:
        flash(str(error), "error")
        return redirect(back, 303)
    flash(f"Segment “{segment.name}” saved.", "success")
    return redirect(url_for("segments.index"), 303)


@bp.route("/<int:segment_id>")
@login_required
def open(segment_id: int):
    """A segment is its search: open the accounts list with its filters."""
    segment = get_for_tenant(Segment, segment_id, current_tenant().id)
    query = criteria_of(segment).query_string()
    return redirect(url_for("accounts.index") + (f"?{query}" if query else ""))


@bp.route("/<int:segment_id>/delete", methods=["POST"])
@owner_required
def delete(segment_id: int):
    form = EmptyForm()
    if form.validate_on_submit():
        segment = get_for_tenant(Segment, segment_id, current_tenant().id)
        name = segment.name
        delete_segment(current_tenant().id, segment.id)
        flash(f"Segment “{name}” deleted.", "success")
    return redirect(url_for("segments.index"), 303)
