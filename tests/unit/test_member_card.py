"""What a guest's card says their points buy, and how far they are towards the next tier."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from loyalty.rules.member_card import RewardPrice, reward_standing, tier_progress
from loyalty.rules.tiers import TierLevel

ESPRESSO = RewardPrice(1, "Free espresso", 100)
TIRAMISU = RewardPrice(2, "Free tiramisu", 400)
PIZZA = RewardPrice(3, "Free pizza", 900)
SILVER = TierLevel(1, "Silver", 100, 100)
GOLD = TierLevel(2, "Gold", 500, 150)


def test_affordable_rewards_cheapest_first_and_the_next_one_with_points_missing():
    standing = reward_standing(450, [PIZZA, TIRAMISU, ESPRESSO])
    assert standing.affordable == [ESPRESSO, TIRAMISU]
    assert (standing.next_reward, standing.points_to_next) == (PIZZA, 450)


def test_a_reward_costing_exactly_the_balance_is_affordable():
    standing = reward_standing(400, [TIRAMISU])
    assert standing.affordable == [TIRAMISU]
    assert standing.next_reward is None and standing.points_to_next is None


def test_with_no_points_the_cheapest_reward_is_next():
    standing = reward_standing(0, [TIRAMISU, ESPRESSO])
    assert standing.affordable == []
    assert (standing.next_reward, standing.points_to_next) == (ESPRESSO, 100)


def test_negative_points_count_as_none():
    assert reward_standing(-50, [ESPRESSO]).points_to_next == 100


def test_no_rewards_means_nothing_to_buy_or_reach():
    standing = reward_standing(1000, [])
    assert (standing.affordable, standing.next_reward, standing.points_to_next) == ([], None, None)


@given(
    st.integers(min_value=-100, max_value=5000),
    st.lists(st.integers(min_value=0, max_value=5000), max_size=8),
)
def test_every_reward_is_either_affordable_or_costs_at_least_the_next(points, costs):
    rewards = [RewardPrice(number, f"R{number}", cost) for number, cost in enumerate(costs)]
    standing = reward_standing(points, rewards)
    out_of_reach = [reward for reward in rewards if reward not in standing.affordable]
    assert all(reward.cost <= max(points, 0) for reward in standing.affordable)
    if out_of_reach:
        assert standing.next_reward.cost == min(reward.cost for reward in out_of_reach)
        assert standing.points_to_next == standing.next_reward.cost - max(points, 0) > 0
    else:
        assert standing.next_reward is None


def test_progress_from_no_tier_to_the_first():
    progress = tier_progress(25, [GOLD, SILVER])
    assert (progress.current, progress.next_tier, progress.points_to_next) == (None, SILVER, 75)
    assert progress.percent == 25


def test_progress_between_two_tiers_counts_from_the_current_threshold():
    progress = tier_progress(300, [SILVER, GOLD])
    assert (progress.current, progress.next_tier, progress.points_to_next) == (SILVER, GOLD, 200)
    assert progress.percent == 50


def test_just_short_of_the_next_tier_is_not_shown_as_complete():
    assert tier_progress(499, [SILVER, GOLD]).percent == 99


def test_the_top_tier_is_complete():
    progress = tier_progress(5000, [SILVER, GOLD])
    assert (progress.current, progress.next_tier, progress.points_to_next) == (GOLD, None, None)
    assert progress.percent == 100


def test_without_tiers_there_is_nothing_to_reach():
    progress = tier_progress(10, [])
    assert (progress.current, progress.next_tier) == (None, None)


@given(st.integers(min_value=0, max_value=10_000))
def test_progress_is_a_percentage_and_needed_points_add_up(lifetime):
    progress = tier_progress(lifetime, [SILVER, GOLD])
    assert 0 <= progress.percent <= 100
    if progress.next_tier is not None:
        assert lifetime + progress.points_to_next == progress.next_tier.threshold_points
        assert progress.percent < 100
