"""The example orders of the source documents (/work/shared/seeds), as Deliverect sends them."""

from __future__ import annotations

# Seed 001: the loyalty programs webhook's request example.
SEED_001_ORDER = {
    "account": "6403c0b9ea6956b6f6970c5b",
    "location": "6403c0baea6956b6f6970c5c",
    "channelLinkId": "6403c0baea6956b6f6970c5c",
    "orderType": 3,
    "customer": {
        "email": "loyalty@customer.com",
        "phoneNumber": "+31201234567",
        "name": "John Doe",
    },
    "items": [
        {
            "plu": "CMB-02",
            "name": "Vegetarian Rames",
            "price": 1700,
            "quantity": 1,
            "subItems": [
                {
                    "plu": "VEG-01",
                    "name": "Vegetables Sayur Lodeh",
                    "price": 0,
                    "quantity": 1,
                    "subItems": [],
                },
                {
                    "plu": "VEG-02",
                    "name": "Vegetables Mix Tumisan",
                    "price": 0,
                    "quantity": 1,
                    "subItems": [],
                },
            ],
        }
    ],
    "discounts": [
        {
            "name": "Amount discount",
            "programId": "1234",
            "type": "discount_amount",
            "amount": 100,
        }
    ],
    "subTotal": 1700,
    "discountTotal": -100,
    "paymentAmount": 1600,
    "decimalDigits": 2,
}

# Seed 003, case 2: the basket of the channel API's example request, without its customer.
SEED_003_BURGER_ORDER = {
    "orderType": 2,
    "items": [
        {
            "plu": "P-TE-zxb3-2",
            "name": "Burger",
            "price": 10000,
            "quantity": 1,
            "subItems": [],
            "productType": 1,
        }
    ],
    "payment": {"amount": 10000},
    "discounts": [],
}

# Seed 004: the channel API's retrieve example (an item with fields we do not read).
SEED_004_ORDER = {
    "items": [
        {
            "_id": "620d19e940411b30c49b1005",
            "plu": "BEEF-02",
            "name": "Beef Opor",
            "price": 1100,
            "quantity": 1,
            "deliveryTax": 9000,
            "productType": 1,
        }
    ],
    "payment": {"type": 3, "amount": 1100},
    "customer": {"email": "customer@loyalty.com", "phoneNumber": "+31201234567"},
    "subTotal": 1100,
    "orderType": 1,
    "decimalDigits": 2,
}
