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
# scripts with Linux), libsqlite3-dev (check_mm's SQLite in WAL mode, and the SQLite shell of check_stdin).
# lwIP's and SQLite's source: dpkg-dev, xz-utils and the archive keyring for apt-get source, tcl (tclsh) to
# generate SQLite's shell.c.
pkgs="gcc libc6-dev make pkg-config libfdt-dev liburing-dev libseccomp-dev check musl-tools binutils
	libslirp-dev libglib2.0-dev libmicrohttpd-dev libjansson-dev iproute2 curl wrk gnuplot-nox e2fsprogs
	containerd runc containernetworking-plugins busybox-static bash-static libsqlite3-dev dpkg-dev xz-utils debian-archive-keyring tcl"
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

# Third-party source comes from Debian's source packages: fetched once into a cache outside the repo (the
# build itself downloads nothing) and verified by dpkg-source. The machines' apt has no deb-src entries, so
# apt-get runs with a private state made from the mirror the system already uses.
# - lwIP, compiled into the guest kernel.
# - SQLite's command-line shell (tests/integration/check_stdin.c pipes SQL into it): the version of the
#   installed libsqlite3-dev it links with; only shell.c, generated from the package's src/shell.c.in by
#   SQLite's own tool/mkshellc.tcl (tclsh, as the package's build does), is kept.
# - libevent and memcached: an unmodified event-loop server (tests/integration/check_memcached.c), both
#   built static with musl-gcc by tools/build.mk. Bookworm's own versions: the private apt state below knows
#   only the main mirror, not bookworm-security's +deb12u1 updates (a test server on a private tap).
LWIP_VER=2.1.3+dfsg1-2
LIBEVENT_VER=2.1.12-stable-8
MEMCACHED_VER=1.6.18-1
# (`deps.sh fuzz` on a machine without libsqlite3-dev: no version, no shell source; check_stdin says SKIPPED.)
SQLITE_VER=$(dpkg-query -W -f='${source:Version}' libsqlite3-dev 2>/dev/null || true)
SQLITE_UP=$(dpkg-query -W -f='${source:Upstream-Version}' libsqlite3-dev 2>/dev/null || true)
cache=${UKVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ukvm}
lwip=$cache/lwip-$LWIP_VER
sqlite=$cache/sqlite3-shell-$SQLITE_UP
libevent=$cache/libevent-$LIBEVENT_VER
memcached=$cache/memcached-$MEMCACHED_VER
sqlite_done() { [ -z "$SQLITE_VER" ] || [ -f "$sqlite/.ukvm-ok" ]; }
[ -f "$lwip/.ukvm-ok" ] && sqlite_done && [ -f "$libevent/.ukvm-ok" ] && [ -f "$memcached/.ukvm-ok" ] && exit 0
mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n 1)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\)[[:space:]]\+bookworm[[:space:]].*/\2/p' /etc/apt/sources.list 2>/dev/null | head -n 1)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
apt=$cache/apt
rm -rf "$apt"
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/src"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm main" >"$apt/sources.list"
# apt-get with that private state.
apt_src() {
	apt-get -o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" -o APT::Sandbox::User="$(id -un)" "$@"
}
apt_src update -qq

# debsrc PACKAGE VERSION DIR: Debian's source package unpacked (its patches applied) into DIR.
debsrc() {
	echo "deps.sh: fetching Debian's $1 $2 source into $cache"
	rm -rf "$3"
	(cd "$apt/src" && apt_src source --download-only -qq "$1=$2" >/dev/null)
	# apt checked every file against the signed index; dpkg-source checks them against the .dsc (its own
	# signature check says "no public key": Debian's keyring package is not needed for that chain).
	if ! dpkg-source -q -x "$apt/src/$1_$2.dsc" "$3" >"$apt/x.log" 2>&1; then
		cat "$apt/x.log" >&2
		exit 1
	fi
}

if [ ! -f "$lwip/.ukvm-ok" ]; then
	debsrc lwip "$LWIP_VER" "$lwip"
	touch "$lwip/.ukvm-ok"
fi
if ! sqlite_done; then
	debsrc sqlite3 "$SQLITE_VER" "$apt/sqlite3"
	rm -rf "$sqlite"
	mkdir -p "$sqlite"
	tclsh "$apt/sqlite3/tool/mkshellc.tcl" >"$sqlite/shell.c"
	echo "sqlite3 $SQLITE_VER" >"$sqlite/.ukvm-ok"
fi
if [ ! -f "$libevent/.ukvm-ok" ]; then
	debsrc libevent "$LIBEVENT_VER" "$libevent"
	touch "$libevent/.ukvm-ok"
fi
if [ ! -f "$memcached/.ukvm-ok" ]; then
	debsrc memcached "$MEMCACHED_VER" "$memcached"
	touch "$memcached/.ukvm-ok"
fi
rm -rf "$apt" "$cache"/lwip_*.orig.tar.* "$cache"/libevent_* "$cache"/memcached_*
