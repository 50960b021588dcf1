#!/usr/bin/env bash
# Make sure Debian's headless LibreOffice Writer and Calc are installed, for the tests that import
# .doc, .xls, .rtf, .odt, .ods and .wps plans through `soffice --convert-to`; installs them with
# apt-get when missing (as root). Prints the soffice path.
set -euo pipefail
# shellcheck source=scripts/apt.sh
source "$(dirname "$0")/apt.sh"
packages=(libreoffice-writer-nogui libreoffice-calc-nogui)
installed() {
  # soffice itself, and Writer's and Calc's libraries next to it (either may come alone).
  local program
  program=$(command -v soffice) || return 1
  program=$(dirname "$(readlink -f "$program")")
  [ -e "$program/libswlo.so" ] && [ -e "$program/libsclo.so" ]
}
if ! installed; then
  apt_install "${packages[@]}"
  if ! installed; then
    echo "LibreOffice Writer and Calc (soffice) are not installed and cannot be installed here" >&2
    exit 1
  fi
fi
command -v soffice
