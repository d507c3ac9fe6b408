"""A checkout: the customer, the catalogue, redemptions with holds, orders and cancels."""
