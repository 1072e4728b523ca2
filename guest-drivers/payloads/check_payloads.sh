#!/usr/bin/env bash
# Checks that each payload ELF given is what the VMM's loader expects
# (proto/guest_abi.h): a static x86-64 executable with no dynamic section, no
# interpreter and no undefined symbols, linked and entered at 1 MiB. Prints
# each payload's file size and loaded image size.
set -uo pipefail

readonly LINK_ADDRESS=0x100000
failures=0

fail() {
  echo "FAIL $1: $2"
  failures=$((failures + 1))
}

for elf in "$@"; do
  name=$(basename "$elf")
  header=$(readelf -h "$elf") || { fail "$name" "not an ELF file"; continue; }
  grep -q 'Type:[[:space:]]*EXEC' <<<"$header" || fail "$name" "not ET_EXEC"
  grep -q 'Machine:[[:space:]]*Advanced Micro Devices X86-64' <<<"$header" ||
    fail "$name" "not x86-64"
  entry=$(awk '/Entry point address/ {print $4}' <<<"$header")
  ((entry == LINK_ADDRESS)) || fail "$name" "entry $entry, expected $LINK_ADDRESS"

  segments=$(readelf -lW "$elf")
  grep -qE '^[[:space:]]*(DYNAMIC|INTERP)' <<<"$segments" &&
    fail "$name" "has a DYNAMIC or INTERP segment"
  readelf -d "$elf" | grep -q 'There is no dynamic section' ||
    fail "$name" "has a dynamic section"
  # First loaded address and end of the last loaded segment (hex from
  # readelf: VirtAddr is field 3, MemSiz field 6).
  first=-1
  end=0
  while read -r address size; do
    ((first < 0 || address < first)) && first=$((address))
    ((address + size > end)) && end=$((address + size))
  done < <(awk '$1 == "LOAD" {print $3, $6}' <<<"$segments")
  ((first == LINK_ADDRESS)) ||
    fail "$name" "first segment at $(printf 0x%x "$first"), expected $LINK_ADDRESS"

  undefined=$(nm -u "$elf")
  [[ -z "$undefined" ]] || fail "$name" "undefined symbols: $(echo $undefined)"
  image_end=$(nm "$elf" | awk '$3 == "__image_end" {print $1}')
  if [[ -z "$image_end" ]]; then
    fail "$name" "no __image_end symbol"
  elif ((16#$image_end != (end + 4095) / 4096 * 4096)); then
    fail "$name" "__image_end 0x$image_end is not the page-aligned image end"
  fi

  printf '%s: file %d bytes, image %d bytes (0x%x..0x%x)\n' "$name" \
    "$(stat -L -c %s "$elf")" $((end - first)) "$first" "$end"
done

if ((failures > 0)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all $# payloads are static ELFs linked at $LINK_ADDRESS"
