#!/usr/bin/env bash
# Set up everything and run the whole test suite: library tests, then every notebook (nbval).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
export JAX_PLATFORMS=cpu
.venv/bin/python -m pytest -n 2 --dist loadgroup tests "$@"
.venv/bin/python -m pytest --nbval-lax -p no:xdist notebooks
