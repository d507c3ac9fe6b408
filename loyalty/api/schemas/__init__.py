"""The pydantic models of the API: what each operation accepts and answers (spec §3)."""
