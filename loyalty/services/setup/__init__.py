"""A restaurant's set-up: tenants, settings, team, rewards and tiers."""
