"""Segments: saved account searches, counted on demand and reused by exports and campaigns."""

from __future__ import annotations

from urllib.parse import parse_qsl

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import Segment
from ..scoping import get_for_tenant
from .search import SearchCriteria, count_matching, parse_criteria


class SegmentError(ValueError):
    pass


def save_segment(
    tenant_id: int, name: str, criteria: SearchCriteria, user_id: int | None
) -> Segment:
    """Save the search (without its sort order) under a name unique within the tenant."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 80:
        raise SegmentError("Give the segment a name of 1 to 80 characters.")
    if criteria.without_sort().is_empty:
        raise SegmentError("Search or filter first: a segment of every account is just the list.")
    if segment_by_name(tenant_id, name) is not None:
        raise SegmentError(f"There is already a segment called {name!r}.")
    segment = Segment(
        tenant_id=tenant_id,
        name=name,
        query=criteria.without_sort().query_string(),
        created_by_id=user_id,
    )
    db.session.add(segment)
    try:
        db.session.commit()
    except IntegrityError:  # the same name saved at the same moment by someone else
        db.session.rollback()
        raise SegmentError(f"There is already a segment called {name!r}.") from None
    return segment


def delete_segment(tenant_id: int, segment_id: int) -> None:
    db.session.delete(get_for_tenant(Segment, segment_id, tenant_id))
    db.session.commit()


def list_segments(tenant_id: int) -> list[Segment]:
    return list(
        db.session.scalars(
            select(Segment).where(Segment.tenant_id == tenant_id).order_by(func.lower(Segment.name))
        )
    )


def segment_by_name(tenant_id: int, name: str) -> Segment | None:
    return db.session.scalar(
        select(Segment).where(Segment.tenant_id == tenant_id, Segment.name == name)
    )


def criteria_of(segment: Segment) -> SearchCriteria:
    """The segment's search. Filters saved by an older version that no longer parse are dropped
    by parse_criteria rather than failing the whole segment."""
    criteria, _errors = parse_criteria(dict(parse_qsl(segment.query)))
    return criteria


def member_count(tenant_id: int, segment_id: int) -> int:
    """How many accounts are in the segment now (an exact COUNT in the database)."""
    segment = get_for_tenant(Segment, segment_id, tenant_id)
    return count_matching(tenant_id, criteria_of(segment))
