#!/usr/bin/env bash
# Make Debian's headless Chromium and its WebDriver available for the report's
# browser test (tests/test_report_browser.py).  `make test` runs this before
# pytest; the test's fixture runs it too, so that the test alone also works.
# CI runs on a fresh Debian machine as root: install from Debian's packages
# when either program is missing; do nothing when both are there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "ensure_chromium: chromium and chromedriver are needed; as root run:" >&2
    echo "    apt-get install -y chromium chromium-driver" >&2
    exit 1
fi
echo ">> installing chromium and chromium-driver (Debian packages, one time)"
export DEBIAN_FRONTEND=noninteractive
# Retry the update once: a mirror mid-sync can fail one index fetch.
apt-get update -qq || apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
command -v chromium >/dev/null && command -v chromedriver >/dev/null
echo ">> chromium $(chromium --version 2>/dev/null | awk '{print $2}') ready"
