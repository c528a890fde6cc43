#!/bin/sh
# ocibench.sh BUILD [RUNS]: wall time of `ctr run --rm` of hello under a private containerd (Debian's), ukvm-oci
# against runc, alternating run by run so both see the same machine load; prints each runtime's median and quartiles.
# Then the image cache: hello in a 24 MiB rootfs of 1,500 files under the overlayfs snapshotter, ukvm-oci with its
# cache against ukvm-oci without, alternating.
set -eu
B=$(cd "${1:?usage: ocibench.sh BUILD [RUNS]}" && pwd)
N=${2:-20}
for p in containerd ctr containerd-shim-runc-v2 runc sha256sum; do
	command -v $p >/dev/null || { echo "bench-oci: $p missing (tools/deps.sh installs it)"; exit 1; }
done
T=$(mktemp -d /tmp/ukvm-ocibench-XXXXXX)
cleanup() { [ -f "$T/containerd.pid" ] && kill "$(cat "$T/containerd.pid")" 2>/dev/null; sleep 0.5; rm -rf "$T"; }
trap cleanup EXIT INT TERM

# The images: hello alone, and hello in a bigger rootfs, as OCI layouts made here (the same shape as
# tests/integration/check_ocie2e.c's).
mkdir -p "$T/oci/blobs/sha256"
cd "$T"
blob() { s=$(sha256sum "$1" | cut -d' ' -f1); cp "$1" "oci/blobs/sha256/$s"; echo "$s $(stat -c %s "$1")"; }
manifests=
image() { # LAYERDIR NAME: adds the image NAME with LAYERDIR as its one layer
	tar -C "$1" --numeric-owner --owner=0 --group=0 -cf layer.tar .
	set -- $(blob layer.tar) "$2"; l=$1 ls=$2 name=$3
	printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/hello"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$l" >config.json
	set -- $(blob config.json); c=$1 cs=$2
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' "$c" "$cs" "$l" "$ls" >manifest.json
	set -- $(blob manifest.json); m=$1 ms=$2
	manifests="${manifests:+$manifests,}$(printf '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s"}}' "$m" "$ms" "$name")"
}
mkdir -p layer big/data
cp "$B/apps/hello" layer/hello
image layer docker.io/ukvm/bench:1
cp "$B/apps/hello" big/hello
i=0; while [ $i -lt 1500 ]; do head -c 16384 /dev/urandom >big/data/f$i; i=$((i + 1)); done
image big docker.io/ukvm/bench:big
printf '{"schemaVersion":2,"manifests":[%s]}' "$manifests" >oci/index.json
echo '{"imageLayoutVersion":"1.0.0"}' >oci/oci-layout
tar -C oci -cf image.tar oci-layout index.json blobs
# ukvm-oci as containerd starts it (cache under T), and without its cache.
printf '#!/bin/sh\nUKVM_OCI_CACHE=off exec %s/ukvm-oci "$@"\n' "$B" >ukvm-oci-nocache
chmod 755 ukvm-oci-nocache

cat >containerd.toml <<EOF
version = 2
root = "$T/root"
state = "$T/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$T/c.sock"
[ttrpc]
  address = "$T/c.ttrpc.sock"
[debug]
  address = "$T/debug.sock"
EOF
UKVM_OCI_CACHE="$T/cache" containerd --config containerd.toml >containerd.log 2>&1 &
echo $! >containerd.pid
i=0; while [ ! -S "$T/c.sock" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
C="ctr --address $T/c.sock"
$C images import image.tar >/dev/null

now() { date +%s%N; }
run() { # RUNTIME-FLAGS ID [IMAGE SNAPSHOTTER]: one ctr run --rm, its wall time in us on stdout
	t0=$(now)
	out=$($C run --rm --snapshotter ${4:-native} $1 docker.io/ukvm/bench:${3:-1} "$2" 2>&1)
	t1=$(now)
	case "$out" in *"Hello from ukvm!"*) ;; *) echo "bench-oci: $2 failed: $out" >&2; exit 1 ;; esac
	echo $(((t1 - t0) / 1000))
}
run "--runc-binary $B/ukvm-oci --runc-root $T/ukvm" warm-u >/dev/null
run "--runc-root $T/runc" warm-r >/dev/null
: >ukvm.us; : >runc.us
k=0
while [ $k -lt "$N" ]; do
	run "--runc-binary $B/ukvm-oci --runc-root $T/ukvm" u$k >>ukvm.us
	run "--runc-root $T/runc" r$k >>runc.us
	k=$((k + 1))
done
stats() { sort -n "$1" | awk -v name="$2" -v img="${3:-hello}" '{ v[NR] = $1 } END {
	printf "bench-oci: %-9s ctr run --rm %s: median %6.1f ms  (p25 %6.1f, p75 %6.1f, %d runs)\n", name, img,
	       v[int((NR + 1) / 2)] / 1000, v[int((NR + 3) / 4)] / 1000, v[int((3 * NR + 3) / 4)] / 1000, NR }'; }
stats ukvm.us ukvm-oci
stats runc.us runc

if ! $C plugins ls | grep -Eq 'io[.]containerd[.]snapshotter[.]v1 +overlayfs +[^ ]+ +ok'; then
	echo "bench-oci: image cache: SKIPPED, containerd's overlayfs snapshotter is not usable here"
	exit 0
fi
run "--runc-binary $B/ukvm-oci --runc-root $T/ukvm" warm-c big overlayfs >/dev/null
: >cache.us; : >nocache.us
k=0
while [ $k -lt "$N" ]; do
	run "--runc-binary $B/ukvm-oci --runc-root $T/ukvm" c$k big overlayfs >>cache.us
	run "--runc-binary $T/ukvm-oci-nocache --runc-root $T/ukvm" n$k big overlayfs >>nocache.us
	k=$((k + 1))
done
stats cache.us "cached" "hello+24MiB"
stats nocache.us "uncached" "hello+24MiB"
