#!/usr/bin/env bash
# Installs what the browser suite (compat-tests/test_ui_browser.py) needs
# (idempotent):
#   /usr/bin/chromium              Debian's chromium, from apt when missing
#   compat-tests/ui/node_modules   npm playwright-core, pinned by package-lock.json;
#                                  no browser download (it drives /usr/bin/chromium)
set -euo pipefail
cd "$(dirname "$0")/.."

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

if [ ! -x /usr/bin/chromium ]; then
  echo "setup-browser: installing chromium with apt"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium
else
  echo "setup-browser: /usr/bin/chromium is installed"
fi

for tool in node npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "setup-browser: $tool is missing (install Node.js >= 20)" >&2
    exit 1
  fi
done

ui=compat-tests/ui
stamp="$ui/node_modules/.lock.sha256"
want=$(sha256sum "$ui/package-lock.json" | cut -d' ' -f1)
if [ -d "$ui/node_modules/playwright-core" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "setup-browser: $ui/node_modules is up to date"
else
  echo "setup-browser: npm ci in $ui"
  (cd "$ui" && npm ci --no-audit --no-fund)
  echo "$want" > "$stamp"
fi
