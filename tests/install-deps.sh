#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian or Ubuntu machine (run as root):
# headless Chromium and its driver for the browser tests (Debian's chromium and
# chromium-driver; on Ubuntu, where Chromium is only a snap, the packages chromium-browser
# and chromium-chromedriver, which install the snap through snapd), axe-core (from npm) for their
# accessibility check, R with survival, maxstat and pROC (the oracle of the statistics
# tests, tests/r_oracle.py), and the project with its test extra in the virtual
# environment .venv (the system Python of Debian 12 and Ubuntu 24.04 is externally managed;
# python3-venv is installed if missing). Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
chromium=present
{ command -v chromium || [ -x /snap/bin/chromium ]; } >/dev/null || chromium=missing
{ command -v chromedriver || [ -x /snap/bin/chromium.chromedriver ]; } >/dev/null \
    || chromium=missing
command -v npm >/dev/null || missing+=(npm)
python3 -c "import ensurepip, venv" 2>/dev/null || missing+=(python3-venv)
r_missing=()
for package in r-base-core r-cran-survival r-cran-maxstat r-cran-proc; do
    installed "$package" || r_missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ] || [ ${#r_missing[@]} -gt 0 ] || [ "$chromium" = missing ]; then
    apt-get update -qq
fi
if [ "$chromium" = missing ]; then
    if apt-cache policy chromium-driver | grep -q "Candidate: [0-9]"; then
        missing+=(chromium chromium-driver)                  # Debian
    else
        # Ubuntu: no chromium package; the transitional ones install the snap (snapd).
        missing+=(chromium-browser chromium-chromedriver)
    fi
fi
if [ ${#missing[@]} -gt 0 ]; then
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
{ command -v chromium || [ -x /snap/bin/chromium ]; } >/dev/null || echo "install-deps.sh:" \
    "Chromium is still missing (on Ubuntu it comes as a snap: is snapd running? try" \
    "'snap install chromium'); the browser tests will fail until it is there" >&2
if [ ${#r_missing[@]} -gt 0 ]; then
    apt-get install -y -qq --no-install-recommends "${r_missing[@]}" >/dev/null
fi
AXE_DIR="$HOME/.cache/hcc-prognosis/axe"
if [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]; then
    npm install --silent --no-audit --no-fund --no-save --no-package-lock \
        --prefix "$AXE_DIR" axe-core@4.14.1
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q -e ".[test]"
