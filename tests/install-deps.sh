#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine (run as root):
# headless Chromium and its driver for the browser tests, axe-core (from npm) for their
# accessibility check, and the project with its test extra.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}"
fi
AXE_DIR="$HOME/.cache/hcc-prognosis/axe"
if [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]; then
    npm install --silent --no-audit --no-fund --no-save --no-package-lock \
        --prefix "$AXE_DIR" axe-core@4.14.1
fi
python3 -m pip install -q -e ".[test]"
