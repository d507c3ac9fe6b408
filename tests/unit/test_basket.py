"""Reading Deliverect orders into baskets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.rules.basket import MAX_AMOUNT, Basket, BasketError, BasketItem, basket_from_order
from tests.support.seeds import SEED_001_ORDER, SEED_004_ORDER


def line(price: int, quantity: int = 1, sub_items: list | None = None, plu: str = "P") -> dict:
    return {"plu": plu, "name": plu, "price": price, "quantity": quantity, "subItems": sub_items}


def test_seed_001_order_parses_with_its_modifiers_and_applied_program():
    basket = basket_from_order(SEED_001_ORDER)

    assert basket.items_total == 1700
    assert [item.plu for item in basket.items] == ["CMB-02"]
    assert [sub.plu for sub in basket.items[0].sub_items] == ["VEG-01", "VEG-02"]
    assert basket.applied_program_ids == ("1234",)
    assert basket.decimal_digits == 2


def test_seed_004_order_parses_ignoring_unknown_item_fields():
    basket = basket_from_order(SEED_004_ORDER)

    assert basket.items == (BasketItem("BEEF-02", "Beef Opor", 1100, 1),)
    assert basket.applied_program_ids == ()


def test_seed_004_order_without_items_is_an_empty_basket():
    basket = basket_from_order({"customer": {"email": "customer@loyalty.com"}, "orderType": 1})

    assert basket.items == ()
    assert basket.is_empty
    assert basket.items_total == 0


def test_seed_003_customer_only_request_with_empty_items_is_an_empty_basket():
    assert basket_from_order({"orderType": 2, "items": []}).is_empty


def test_sub_item_prices_count_once_per_parent_unit():
    # Two burgers, each with two slices of cheese at 100: (500 + 2 × 100) × 2.
    basket = basket_from_order({"items": [line(500, 2, [line(100, 2, plu="CHEESE")])]})

    assert basket.items[0].unit_total == 700
    assert basket.items_total == 1400


def test_nested_sub_items_multiply_down_the_tree():
    sauce = line(50, 2, plu="SAUCE")
    fries = line(200, 1, [sauce], plu="FRIES")
    basket = basket_from_order({"items": [line(1000, 3, [fries])]})

    assert basket.items_total == (1000 + (200 + 100)) * 3


def test_fees_and_tips_are_kept_apart_from_the_items_total():
    basket = basket_from_order(
        {
            "items": [line(1000)],
            "deliveryCost": 250,
            "serviceCharge": 100,
            "tip": 300,
            "driverTip": 200,
        }
    )

    assert basket.items_total == 1000
    assert (basket.delivery_cost, basket.service_charge, basket.tip) == (250, 100, 500)


def test_decimal_digits_default_to_two_and_zero_is_kept():
    assert basket_from_order({"items": []}).decimal_digits == 2
    assert basket_from_order({"items": [], "decimalDigits": None}).decimal_digits == 2
    assert basket_from_order({"items": [], "decimalDigits": 0}).decimal_digits == 0


def test_program_ids_sent_as_numbers_become_strings_once_each():
    basket = basket_from_order(
        {
            "discounts": [
                {"programId": 1234},
                {"programId": "1234"},
                {"programId": "77"},
                {"name": "wallet cash", "amount": 500},
            ]
        }
    )

    assert basket.applied_program_ids == ("1234", "77")


def test_numeric_plu_becomes_a_string():
    assert basket_from_order({"items": [line(100, plu=1282933778)]}).items[0].plu == "1282933778"


def test_integral_float_price_is_accepted_as_an_integer():
    item = basket_from_order({"items": [line(500.0)]}).items[0]

    assert item.unit_price == 500
    assert isinstance(item.unit_price, int)


def test_quantity_zero_is_accepted_and_adds_nothing():
    basket = basket_from_order({"items": [line(500, 0)]})

    assert basket.items_total == 0
    assert basket.is_empty


def test_a_free_item_still_makes_the_basket_non_empty():
    assert not basket_from_order({"items": [line(0, 1)]}).is_empty


@pytest.mark.parametrize(
    ("order", "message"),
    [
        (
            {"items": [line(1), line(1), line(-1)]},
            "order.items[2].price: must be a non-negative integer",
        ),
        ({"items": [line(2.5)]}, "order.items[0].price: must be a non-negative integer"),
        ({"items": [line("500")]}, "order.items[0].price: must be a non-negative integer"),
        ({"items": [line(True)]}, "order.items[0].price: must be a non-negative integer"),
        ({"items": [line(float("nan"))]}, "order.items[0].price: must be a non-negative integer"),
        ({"items": [line(100, False)]}, "order.items[0].quantity: must be a non-negative integer"),
        ({"items": [line(100, -1)]}, "order.items[0].quantity: must be a non-negative integer"),
        (
            {"items": [{"plu": "A", "quantity": 1}]},
            "order.items[0].price: must be a non-negative integer",
        ),
        (
            {"items": [line(100, 1, [line(0), line(0, 1.5)])]},
            "order.items[0].subItems[1].quantity: must be a non-negative integer",
        ),
        ({"items": {"plu": "A"}}, "order.items: must be a list"),
        ({"items": ["A"]}, "order.items[0]: must be an object"),
        ({"items": [line(1, 1, "x")]}, "order.items[0].subItems: must be a list"),
        ({"items": [{**line(1), "plu": ["A"]}]}, "order.items[0].plu: must be a string"),
        ({"decimalDigits": -2}, "order.decimalDigits: must be a non-negative integer"),
        ({"decimalDigits": 40}, "order.decimalDigits: must be at most 6"),
        ({"tip": -5}, "order.tip: must be a non-negative integer"),
        ({"discounts": {"programId": "1"}}, "order.discounts: must be a list"),
        ({"discounts": [{"programId": True}]}, "order.discounts[0].programId: must be a string"),
        ("order", "order: must be an object"),
        (None, "order: must be an object"),
    ],
)
def test_malformed_orders_are_refused_naming_the_field(order, message):
    with pytest.raises(BasketError) as raised:
        basket_from_order(order)

    assert str(raised.value) == message


def test_absurdly_deep_sub_items_are_refused_not_recursed():
    item = line(1)
    for _ in range(5000):
        item = line(1, 1, [item])

    with pytest.raises(BasketError, match="nested too deeply"):
        basket_from_order({"items": [item]})


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "items",
                    "subItems",
                    "plu",
                    "name",
                    "price",
                    "quantity",
                    "discounts",
                    "programId",
                    "decimalDigits",
                    "tip",
                    "driverTip",
                    "deliveryCost",
                    "serviceCharge",
                    "x",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=40,
)


@given(json_values)
def test_any_json_either_parses_or_raises_basket_error(order):
    try:
        basket = basket_from_order(order)
    except BasketError:
        return
    assert isinstance(basket, Basket)
    assert basket.items_total >= 0


well_formed_items = st.recursive(
    st.fixed_dictionaries(
        {
            "plu": st.text(max_size=3),
            "name": st.text(max_size=3),
            "price": st.integers(0, 10_000),
            "quantity": st.integers(0, 5),
        }
    ),
    lambda children: st.fixed_dictionaries(
        {
            "plu": st.text(max_size=3),
            "name": st.text(max_size=3),
            "price": st.integers(0, 10_000),
            "quantity": st.integers(0, 5),
            "subItems": st.lists(children, max_size=3),
        }
    ),
    max_leaves=10,
)


def expected_line_total(raw: dict) -> int:
    unit = raw["price"] + sum(expected_line_total(sub) for sub in raw.get("subItems", []))
    return unit * raw["quantity"]


@given(st.lists(well_formed_items, max_size=5))
def test_well_formed_orders_always_parse_and_total_their_lines(items):
    basket = basket_from_order({"items": items})

    assert len(basket.items) == len(items)
    assert basket.items_total == sum(expected_line_total(raw) for raw in items)


@pytest.mark.parametrize("price", [1e20, 10**20, 10**8 + 1, 1e300])
def test_a_price_beyond_the_amount_limit_is_refused(price):
    """Item 8: 1e20 with no paymentAmount reached the ledger's 32-bit columns as a 500."""
    with pytest.raises(BasketError, match=r"order.items\[0\].price: must be at most 100000000"):
        basket_from_order({"items": [line(price)]})


def test_a_basket_multiplied_past_the_amount_limit_is_refused():
    nested = line(10**8, 10_000, [line(10**8, 10_000)])
    with pytest.raises(BasketError, match="basket totals more than"):
        basket_from_order({"items": [nested]})


@given(json_values)
def test_a_parsed_basket_never_totals_more_than_the_amount_limit(order):
    try:
        basket = basket_from_order(order)
    except BasketError:
        return
    assert basket.items_total + basket.delivery_cost + basket.service_charge <= MAX_AMOUNT
