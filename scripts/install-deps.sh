#!/bin/sh
# Installs what attn needs to build and test: a C compiler, make, pkg-config, PCRE2, zlib,
# cmocka and a man-page linter.  Debian and Ubuntu are handled here; other systems are named.
set -e
DEBIAN_PKGS="build-essential pkg-config libpcre2-dev zlib1g-dev libcmocka-dev mandoc"
if command -v apt-get >/dev/null 2>&1; then
    SUDO=
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq $DEBIAN_PKGS
    # Optional, for reference checks and training (not needed by make check):
    #   apt-get install python3-torch python3-numpy nodejs npm clang
    exit 0
fi
echo "install-deps: no apt-get here; install these by hand:" >&2
echo "  Fedora:   dnf install gcc make pkgconf-pkg-config pcre2-devel zlib-devel libcmocka-devel mandoc" >&2
echo "  macOS:    brew install pkg-config pcre2 zlib cmocka mandoc" >&2
exit 1
