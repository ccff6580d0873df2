#!/usr/bin/env bash
# Set up everything and open the lessons in JupyterLab (offline, on the shipped features).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh lessons,data
exec .venv/bin/jupyter lab notebooks/ "$@"
