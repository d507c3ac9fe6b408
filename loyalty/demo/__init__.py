"""The demo restaurant's made-up data."""
