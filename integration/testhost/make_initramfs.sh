#!/bin/sh
# Packs the test host's initramfs (cpio, newc): a static busybox, the init
# script and the given kernel modules, decompressed for busybox insmod.
# Usage: make_initramfs.sh OUTPUT BUSYBOX INIT MODULE.ko.xz...
set -eu
output=$1 busybox=$2 init=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/lib/modules" "$work/proc" "$work/sys" "$work/dev"
cp "$busybox" "$work/bin/busybox"
cp "$init" "$work/init"
chmod 755 "$work/bin/busybox" "$work/init"
for module in "$@"; do
  name=$(basename "$module" .xz)
  xz -d -c "$module" >"$work/lib/modules/$name"
done
out=$(realpath "$output" 2>/dev/null || echo "$PWD/$output")
(cd "$work" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet >"$out")
