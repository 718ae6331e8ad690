#!/usr/bin/env bash
# `make test`: lint, then the whole pytest suite (unit, integration, e2e) against the real stack,
# which deploy/local/with-stack.sh starts and stops again.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=.venv/bin
echo "== lint (ruff, mypy)"
$BIN/ruff check .
$BIN/ruff format --check .
$BIN/mypy shared services tests dx testing
echo "== tests"
exec deploy/local/with-stack.sh $BIN/python -m pytest -q -p no:cacheprovider --timeout=600 -m "not slow" "$@" tests
