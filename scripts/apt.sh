# Sourced by the scripts that install what the tests need: apt_install PACKAGE... installs Debian
# packages with apt-get, its output on stderr, reading the package lists again when the first try
# fails (a fresh machine's may be stale or missing); without root or apt-get it does nothing.
apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    return 0
  fi
  (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
    || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@")) >&2
}
