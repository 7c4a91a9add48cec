#!/usr/bin/env bash
# Make sure Debian's Chromium is present for the dApp's browser tests (installed when missing and root).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "Chromium is needed for the browser tests: sudo apt-get install chromium" >&2
  exit 1
fi
echo "Installing Chromium (Debian chromium)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
