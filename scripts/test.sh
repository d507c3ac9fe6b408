#!/usr/bin/env bash
# README command 2: install what the tests need and run all of them (lint, unit, integration,
# web, browser in Chromium, each database test on SQLite and PostgreSQL).
# Extra arguments go to pytest, e.g. `scripts/test.sh tests/unit -x`.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v chromium >/dev/null || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v npm >/dev/null || missing+=(npm)
python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} with apt-get"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# Browser tests drive Debian's /usr/bin/chromium: Playwright never downloads a browser here.
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[test]'

# axe-core, which the browser tests inject to check every page against WCAG A/AA.
npm ci --no-audit --no-fund --loglevel=error

.venv/bin/ruff check .
.venv/bin/vulture  # dead code; what it may not flag is listed in pyproject.toml [tool.vulture]

status=0
.venv/bin/pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure, not a pass" >&2
fi
exit "$status"
