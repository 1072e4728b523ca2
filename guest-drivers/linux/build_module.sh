#!/bin/sh
# Builds the guest driver module out of tree with kbuild, against the
# unpacked kernel headers, and strips its debug information.
# Usage: build_module.sh MODULE_SYMVERS OUT.ko SOURCE...
#   MODULE_SYMVERS: Module.symvers in the headers tree (found through its
#   symlink, since Bazel declares only that file of the tree).
# The module has no BTF: that would need pahole, and only BPF tools read it.
set -eu
symvers=$1 out=$2
shift 2
headers=$(dirname "$(readlink -f "$symvers")")
work=$(mktemp -d "${TMPDIR:-/tmp}/faultline-mem-kbuild.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$@" "$work/"
if ! make -C "$headers" M="$work" CONFIG_DEBUG_INFO_BTF_MODULES= W=1 \
    modules >"$work/build.log" 2>&1; then
  cat "$work/build.log" >&2
  exit 1
fi
strip --strip-debug -o "$out" "$work/faultline_mem.ko"
