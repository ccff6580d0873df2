#!/usr/bin/env bash
# Set up dptl on a fresh Debian/Ubuntu machine: Debian packages, a virtualenv in .venv,
# and the package with the given extras (default "lessons,data").
#   bash scripts/setup.sh             # for the lessons
#   bash scripts/setup.sh test        # for the test suite (adds pytest, nbval, playwright)
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-lessons,data}"

packages=()
[ -d /usr/share/datasets/fashion-mnist ] || packages+=(dataset-fashion-mnist)
if [[ "$extras" == *test* || "$extras" == *dev* ]] && ! command -v chromium >/dev/null 2>&1; then
  packages+=(chromium)  # the real-browser lesson test drives Debian's Chromium
fi
if ((${#packages[@]})); then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup: apt-get install ${packages[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# A stamp per extra, for this pyproject.toml: a second run (lessons.sh every morning, the
# browser test starting JupyterLab through lessons.sh) skips pip. "test" and "dev"
# include the lessons and data extras.
[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=".venv/dptl-setup-$(sha256sum pyproject.toml | cut -c1-16)"
missing=()
for extra in ${extras//,/ }; do
  grep -qx "$extra" "$stamp" 2>/dev/null || missing+=("$extra")
done
if ((${#missing[@]})); then
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[${extras}]"
  for extra in ${extras//,/ }; do
    echo "$extra"
    case "$extra" in
      dev) printf 'test\nlessons\ndata\n' ;;
      test) printf 'lessons\ndata\n' ;;
    esac
  done >>"$stamp"
  echo "setup: done (extras: ${extras})"
else
  echo "setup: already set up (extras: ${extras}; delete $stamp to reinstall)"
fi
