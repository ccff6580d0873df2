#!/usr/bin/env bash
# Set up everything and open the lessons in JupyterLab (offline, on the shipped features).
#   bash scripts/lessons.sh [JUPYTERLAB OPTIONS]     e.g. --port=9999
# Works as root and as a normal user. Without a display (a server, a container, ssh) it
# opens no browser and prints the URL to open; when the port is taken, JupyterLab takes
# the next free one and prints that. $DPTL_NOTEBOOKS serves another copy of the lessons.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh lessons,data
options=()
if [ "$(id -u)" = 0 ]; then
  options+=(--allow-root)  # containers and fresh cloud machines often log in as root
fi
if [ "$(uname -s)" = Linux ] && [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  options+=(--no-browser)
  echo "lessons: no display here; open the http://... URL that JupyterLab prints below" \
    "(through an ssh tunnel from another machine: ssh -L 8888:localhost:8888 HOST)."
fi
exec .venv/bin/jupyter lab "${DPTL_NOTEBOOKS:-notebooks}" "${options[@]}" "$@"
