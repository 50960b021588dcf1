#!/usr/bin/env bash
# Make sure Debian's Chromium and ChromeDriver are installed, for the browser tests of the web
# console; installs them with apt-get when missing (as root). Prints the chromedriver path.
set -euo pipefail
if ! command -v chromedriver >/dev/null || ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver \
      || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
          apt-get install -y -qq chromium chromium-driver)) >&2
  else
    echo "chromium and chromium-driver are not installed and cannot be installed here" >&2
    exit 1
  fi
fi
command -v chromedriver
