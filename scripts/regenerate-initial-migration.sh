#!/usr/bin/env bash
# Rebuild migrations/versions/0001 from the models. Only while no database outside tests has
# applied it (before the first release); afterwards add a new migration with `flask db migrate`.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f migrations/versions/0001_initial_schema.py
LOYALTY_DATABASE_URL="sqlite:///$tmp/empty.db" .venv/bin/flask --app app db migrate -m "initial schema" --rev-id 0001 >/dev/null 2>&1
rm -rf "$tmp"
echo "regenerated migrations/versions/0001_initial_schema.py"
