"""The guest pages' use cases: signing in with a one-time code, joining, the card, own data."""
