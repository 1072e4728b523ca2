#!/bin/bash
# Checks the guest images' contents: busybox (static), /init (valid shell),
# the module list, the mount points; and that the flmem image carries the
# driver (listed for init.sh to load) and the tool.
# Usage: initramfs_test.sh PLAIN_IMAGE FLMEM_IMAGE
set -euo pipefail

check_image() {
  local image list dir
  image=$(realpath "$1")
  list=$(cpio -it --quiet <"$image")
  for want in init bin/busybox etc/fl-modules lib/modules dev proc sys "${@:2}"; do
    grep -qxF "$want" <<<"$list" || { echo "FAIL: $want missing from $1"; exit 1; }
  done
  dir=$(mktemp -d)
  (cd "$dir" && cpio -id --quiet <"$image")
  /bin/busybox sh -n "$dir/init" || { echo "FAIL: /init is not valid shell"; exit 1; }
  if "$dir/bin/busybox" ldd "$dir/bin/busybox" 2>&1 | grep -q "=>"; then
    echo "FAIL: busybox is dynamically linked"
    exit 1
  fi
  modules=$(cat "$dir/etc/fl-modules")
  rm -rf "$dir"
  echo "ok: $1: $(wc -l <<<"$list") entries, $(stat -c %s "$image") bytes"
}

check_image "$1"
[[ -z "$modules" ]] || { echo "FAIL: the plain image lists modules: $modules"; exit 1; }
check_image "$2" bin/flmem lib/modules/faultline_mem.ko
[[ "$modules" == faultline_mem.ko ]] || { echo "FAIL: module list '$modules'"; exit 1; }
echo PASS
