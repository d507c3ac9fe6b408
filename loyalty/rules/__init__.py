"""Pure domain rules: no Flask, no database, no clock (callers pass `now`)."""
