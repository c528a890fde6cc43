#!/bin/sh
# deps.sh: installs the Debian packages ukvm builds and tests with, only when one is missing.
set -eu
pkgs="gcc make pkg-config libfdt-dev liburing-dev libseccomp-dev check musl-tools binutils iproute2 e2fsprogs"
missing=""
# `deps.sh fuzz` (make fuzz): clang and its runtimes (libFuzzer, sanitizers) instead; make check needs neither.
[ "${1:-}" = fuzz ] && pkgs="clang libclang-rt-dev"
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing packages:$missing (run as root: apt-get install$missing)" >&2
	exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
