"""Tiers reached by lifetime points."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from loyalty.rules.tiers import TierLevel, next_tier, rank_of, requirements, tier_for

BRONZE = TierLevel(3, "Bronze", 0, 100)
SILVER = TierLevel(1, "Silver", 500, 125)
GOLD = TierLevel(2, "Gold", 2000, 150)
SHUFFLED = [GOLD, BRONZE, SILVER]


def test_customer_is_in_the_highest_tier_reached():
    assert tier_for(0, SHUFFLED) == BRONZE
    assert tier_for(499, SHUFFLED) == BRONZE
    assert tier_for(500, SHUFFLED) == SILVER
    assert tier_for(7837, SHUFFLED) == GOLD


def test_below_every_threshold_there_is_no_tier():
    assert tier_for(99, [SILVER, GOLD]) is None
    assert tier_for(10, []) is None


def test_next_tier_says_how_many_points_are_still_needed():
    assert next_tier(0, SHUFFLED) == (SILVER, 500)
    assert next_tier(1999, SHUFFLED) == (GOLD, 1)
    assert next_tier(2000, SHUFFLED) is None


def test_of_tiers_starting_at_the_same_threshold_the_next_is_the_one_reached_there():
    twin = TierLevel(4, "Silver too", 500, 130)
    assert tier_for(500, [BRONZE, SILVER, twin]) == twin
    assert next_tier(0, [twin, BRONZE, SILVER]) == (twin, 500)


def test_rank_counts_from_the_lowest_tier():
    assert [rank_of(t.tier_id, SHUFFLED) for t in (BRONZE, SILVER, GOLD)] == [0, 1, 2]
    assert rank_of(99, SHUFFLED) is None
    assert rank_of(None, SHUFFLED) is None


def test_requirements_give_each_tier_its_lifetime_point_range():
    assert requirements(SHUFFLED) == [(BRONZE, 0, 499), (SILVER, 500, 1999), (GOLD, 2000, None)]
    assert requirements([]) == []


tier_lists = st.lists(
    st.builds(TierLevel, st.integers(), st.text(max_size=3), st.integers(0, 10_000), st.just(100)),
    max_size=6,
    unique_by=lambda tier: tier.tier_id,
)


@given(tier_lists, st.randoms(use_true_random=False), st.integers(0, 20_000))
def test_the_order_tiers_are_given_in_does_not_matter(tiers, random, points):
    shuffled = list(tiers)
    random.shuffle(shuffled)

    assert tier_for(points, shuffled) == tier_for(points, tiers)
    assert next_tier(points, shuffled) == next_tier(points, tiers)
    assert requirements(shuffled) == requirements(tiers)


@given(tier_lists, st.integers(0, 20_000))
def test_the_tier_reached_is_within_its_requirements(tiers, points):
    tier = tier_for(points, tiers)
    ranges = {t.tier_id: (low, high) for t, low, high in requirements(tiers)}
    following = next_tier(points, tiers)

    if tier is not None:
        low, high = ranges[tier.tier_id]
        assert low <= points and (high is None or points <= high)
    if following is not None:
        assert following[1] > 0
        assert tier_for(points + following[1], tiers) == following[0]
