#!/usr/bin/env bash
# Install headless Chromium and its WebDriver from Debian's packages, for the browser test of the
# HTML report (tests/pipeline/test_report_browser.py). Idempotent: does nothing when both are
# already installed. Needs root (CI runs as root); without it, say what to run instead.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-browser: need root to install chromium; run: sudo apt-get install -y chromium chromium-driver" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null
command -v chromium >/dev/null && command -v chromedriver >/dev/null
