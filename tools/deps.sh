#!/bin/sh
# deps.sh: installs the Debian packages ukvm builds and tests with, only when one is missing.
set -eu
# Build: gcc with libc6-dev (only a Recommends of gcc, so --no-install-recommends would leave it out);
# libslirp-dev's slirp.pc requires glib-2.0.pc, which only libglib2.0-dev ships (pkg-config fails without it);
# libmicrohttpd-dev for ukvm-serve (tools/serve); libjansson-dev for ukvm-oci's JSON (tools/oci).
# Tests and benches: iproute2 (ip netns, veth, tap), curl (HTTP client), wrk (bench-net HTTP), gnuplot-nox
# (bench-snap's SVG plots of boot, restore and process latencies),
# e2fsprogs (disk images), containerd + runc + containernetworking-plugins (ukvm-oci's end-to-end suite,
# tests/integration/check_ocie2e.c, runs a private containerd), busybox-static and bash-static (programs nobody
# here wrote: check_stdin.c reads its stdin, check_net its nc -l server, check_compat compares their applets and
# scripts with Linux), libsqlite3-dev (check_mm's SQLite in WAL mode). lwIP's source: dpkg-dev, xz-utils and the
# archive keyring for apt-get source.
pkgs="gcc libc6-dev make pkg-config libfdt-dev liburing-dev libseccomp-dev check musl-tools binutils
	libslirp-dev libglib2.0-dev libmicrohttpd-dev libjansson-dev iproute2 curl wrk gnuplot-nox e2fsprogs
	containerd runc containernetworking-plugins busybox-static bash-static libsqlite3-dev dpkg-dev xz-utils debian-archive-keyring"
missing=""
# `deps.sh fuzz` (make fuzz): clang and its runtimes (libFuzzer, sanitizers) instead; make check needs neither.
[ "${1:-}" = fuzz ] && pkgs="clang libclang-rt-dev"
# One dpkg-query for all (fast when everything is present); a package it does not know prints nothing.
installed=$(dpkg-query -W -f='${Package} ${Status}\n' $pkgs 2>/dev/null | sed -n 's/ install ok installed$//p')
for p in $pkgs; do
	echo "$installed" | grep -qx "$p" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps.sh: missing packages:$missing (run as root: apt-get install$missing)" >&2
		exit 1
	fi
	echo "deps.sh: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# lwIP, compiled into the guest kernel, comes from Debian's source package: fetched once into a
# cache outside the repo (the build itself downloads nothing) and verified by dpkg-source. The
# machines' apt has no deb-src entries, so apt-get runs with a private state made from the
# mirror the system already uses.
LWIP_VER=2.1.3+dfsg1-2
cache=${UKVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ukvm}
lwip=$cache/lwip-$LWIP_VER
[ -f "$lwip/.ukvm-ok" ] && exit 0
mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n 1)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\)[[:space:]]\+bookworm[[:space:]].*/\2/p' /etc/apt/sources.list 2>/dev/null | head -n 1)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
apt=$cache/apt
rm -rf "$apt" "$lwip"
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/src"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm main" >"$apt/sources.list"
set -- -o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null \
	-o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" -o APT::Sandbox::User="$(id -un)"
echo "deps.sh: fetching Debian's lwip $LWIP_VER source into $cache"
apt-get "$@" update -qq
(cd "$apt/src" && apt-get "$@" source --download-only -qq "lwip=$LWIP_VER" >/dev/null)
# apt checked every file against the signed index; dpkg-source checks them against the .dsc (its own
# signature check says "no public key": Debian's keyring package is not needed for that chain).
if ! dpkg-source -q -x "$apt/src/lwip_$LWIP_VER.dsc" "$lwip" >"$apt/x.log" 2>&1; then
	cat "$apt/x.log" >&2
	exit 1
fi
rm -rf "$apt" "$cache"/lwip_*.orig.tar.*
touch "$lwip/.ukvm-ok"
