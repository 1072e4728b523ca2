#!/bin/bash
# Checks the guest image's contents: busybox (static), /init (valid shell),
# the module list, the mount points.
set -euo pipefail
image=$(realpath "$1")
list=$(cpio -it --quiet <"$image")
for want in init bin/busybox etc/fl-modules lib/modules dev proc sys; do
  grep -qxF "$want" <<<"$list" || { echo "FAIL: $want missing from the image"; exit 1; }
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
(cd "$dir" && cpio -id --quiet <"$image")
/bin/busybox sh -n "$dir/init" || { echo "FAIL: /init is not valid shell"; exit 1; }
if "$dir/bin/busybox" ldd "$dir/bin/busybox" 2>&1 | grep -q "=>"; then
  echo "FAIL: busybox is dynamically linked"
  exit 1
fi
echo "PASS: $(wc -l <<<"$list") entries, $(stat -c %s "$image") bytes"
