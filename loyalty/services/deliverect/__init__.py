"""Deliverect-only state: registration links, their tenants and tiers, the call log."""
