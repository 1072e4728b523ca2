#!/bin/sh
# Packs a Linux initramfs (cpio, newc, uncompressed: the kernel unpacks it
# without decompressing under emulation): a static busybox, an init script
# and optionally kernel modules and static tools.
# Usage: make_initramfs.sh OUTPUT --busybox=PATH --init=PATH
#            [--module=FILE.ko|FILE.ko.xz]... [--tool=PATH]...
# Modules go to /lib/modules (decompressed for busybox insmod) and are
# listed in /etc/fl-modules in the order given; tools go to /bin.
set -eu
output=$1
shift
busybox="" init=""
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/etc" "$work/lib/modules" "$work/proc" "$work/sys" \
  "$work/dev"
: >"$work/etc/fl-modules"
for arg in "$@"; do
  case "$arg" in
    --busybox=*) busybox=${arg#*=} ;;
    --init=*) init=${arg#*=} ;;
    --module=*)
      module=${arg#*=}
      name=$(basename "$module" .xz)
      case "$module" in
        *.xz) xz -d -c "$module" >"$work/lib/modules/$name" ;;
        *) cp "$module" "$work/lib/modules/$name" ;;
      esac
      echo "$name" >>"$work/etc/fl-modules"
      ;;
    --tool=*)
      tool=${arg#*=}
      cp "$tool" "$work/bin/$(basename "$tool")"
      chmod 755 "$work/bin/$(basename "$tool")"
      ;;
    *) echo "make_initramfs: unknown argument $arg" >&2; exit 2 ;;
  esac
done
[ -n "$busybox" ] && [ -n "$init" ] || {
  echo "make_initramfs: --busybox and --init are required" >&2
  exit 2
}
cp "$busybox" "$work/bin/busybox"
cp "$init" "$work/init"
chmod 755 "$work/bin/busybox" "$work/init"
out=$(realpath "$output" 2>/dev/null || echo "$PWD/$output")
(cd "$work" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet >"$out")
