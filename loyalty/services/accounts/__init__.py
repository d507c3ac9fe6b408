"""Customers' accounts: profiles, search, segments, history, merge, erasure, events."""
