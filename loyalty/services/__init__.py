"""Use cases: the only layer that writes. Each public function owns its transaction."""
