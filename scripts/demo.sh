#!/usr/bin/env bash
# README command 1: set up, load the demo restaurant once, and serve the dashboard on
# http://127.0.0.1:5000. Safe to run again: it reuses .venv and never reloads the demo.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

python=""
for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null &&
        "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        python=$candidate
        break
    fi
done
if [ -z "$python" ]; then
    echo "loyalty needs Python 3.11 or newer (on Debian 12: apt-get install python3)" >&2
    exit 1
fi

if [ ! -x .venv/bin/python ]; then
    if ! "$python" -c 'import ensurepip' 2>/dev/null; then
        # Debian ships venv's pip bootstrap separately.
        as_root apt-get update
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv
    fi
    "$python" -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -e .

export FLASK_APP=app
.venv/bin/flask loyalty init-db        # instance/loyalty.db (SQLite, WAL) unless LOYALTY_DATABASE_URL says otherwise
.venv/bin/flask loyalty demo-data --if-empty

cat <<'BANNER'

  loyalty is starting on  http://127.0.0.1:5000
  demo login              owner@demo.example  /  loyalty-demo
  (stop with Ctrl+C; run this script again to restart: the data stays in instance/)

BANNER
# A production server, not Flask's development one: one process (SQLite has one writer at a
# time, and WAL mode lets its threads read meanwhile) with eight threads for parallel requests.
exec .venv/bin/gunicorn --workers 1 --threads 8 --bind 127.0.0.1:5000 --access-logfile - app:app
