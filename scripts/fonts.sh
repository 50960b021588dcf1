#!/usr/bin/env bash
# Make sure a font covering Chinese is installed, as duban's PDF import needs on the machine for a
# PDF whose fonts are not embedded (PDFium lays such text out with a font of the machine's own,
# and loses characters without one); installs Debian's fonts-wqy-microhei with apt-get when none
# is (as root). Prints the font's family.
set -euo pipefail
# shellcheck source=scripts/apt.sh
source "$(dirname "$0")/apt.sh"
packages=(fonts-wqy-microhei fontconfig)  # fc-list: how duban asks for the font
found() { command -v fc-list >/dev/null && fc-list :lang=zh family | grep -q .; }
if ! found; then
  apt_install "${packages[@]}"
  if ! found; then
    echo "no font covering Chinese is installed, and none can be installed here" >&2
    exit 1
  fi
fi
fc-list :lang=zh family | head -n 1
