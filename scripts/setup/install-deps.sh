#!/bin/sh
# Installs what attn needs to build and test: a C compiler, make, pkg-config, PCRE2, zlib,
# cmocka, a man-page linter, an XML validator (xmllint, for the SVG heatmap tests), and Python
# with numpy for the tests that write model files with the Python scripts.  Debian and Ubuntu
# are handled here; other systems get the package names.
set -e
DEBIAN_PKGS="build-essential pkg-config libpcre2-dev zlib1g-dev libcmocka-dev libxml2-dev libxml2-utils mandoc python3 python3-numpy"
if command -v apt-get >/dev/null 2>&1; then
    SUDO=
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq $DEBIAN_PKGS
    echo "install-deps: optional extras: python3-torch (make check-reference, training)," \
         "clang (make fuzz), nodejs and npm (tokenizer goldens and make bench)" >&2
    exit 0
fi
echo "install-deps: no apt-get here; install these by hand:" >&2
echo "  Fedora: dnf install gcc make pkgconf-pkg-config pcre2-devel zlib-devel libcmocka-devel mandoc libxml2 python3-numpy" >&2
echo "  macOS:  brew install pkg-config pcre2 zlib cmocka mandoc libxml2 numpy" >&2
exit 1
