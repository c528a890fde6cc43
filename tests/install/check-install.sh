#!/bin/sh
# check-install.sh: `make install` into a temp DESTDIR, then builds tests/install/embed_min.c with only
# `pkg-config --static --cflags --libs libukvm` from there, and runs it on IMAGE (hello.img: "Hello from ukvm!").
# Usage (from the repository root): tests/install/check-install.sh IMAGE [BUILD]
set -eu
img=$1
build=${2:-build}
prefix=/opt/ukvm-check # not /usr/local: proves that the .pc follows PREFIX
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ukvm-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# A plain sub-make: not a job of a make that may be running this test.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory install \
	BUILD="$build" PREFIX="$prefix" DESTDIR="$tmp"
pc=$tmp$prefix/lib/pkgconfig/libukvm.pc
grep -qx "prefix=$prefix" "$pc" || { echo "check-install: $pc: prefix is not $prefix" >&2; exit 1; }
# The sysroot maps the .pc's paths into DESTDIR, as for any staged install.
flags=$(PKG_CONFIG_PATH=$tmp$prefix/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$tmp \
	pkg-config --static --cflags --libs libukvm)
${CC:-gcc} -std=c11 -Wall -Wextra -Werror -o "$tmp/embed_min" tests/install/embed_min.c $flags
out=$("$tmp/embed_min" "$img")
[ "$out" = "Hello from ukvm!" ] || { echo "check-install: embed_min printed '$out'" >&2; exit 1; }
echo "check-install: ok ($flags)"
