#!/bin/sh
# Checks the built module: made for the test host's kernel, bound to the
# PCI memory device's IDs, debug information stripped.
set -eu
ko=$1
PATH=$PATH:/usr/sbin:/sbin  # modinfo
fail() { echo "module_test: $*" >&2; exit 1; }
info() { modinfo -F "$1" "$ko"; }
case "$(info vermagic)" in
  "6.12.117+deb12-amd64 SMP "*) ;;
  *) fail "vermagic is '$(info vermagic)'" ;;
esac
[ "$(info alias)" = "pci:v0000FA17d00000001sv*sd*bc*sc*i*" ] ||
  fail "alias is '$(info alias)'"
[ "$(info name)" = "faultline_mem" ] || fail "name is '$(info name)'"
info parm | grep -q '^wait_ms:' || fail "no wait_ms parameter"
if objdump -h "$ko" | grep -q '\.debug_'; then fail "debug sections left"; fi
echo "module_test: $(basename "$ko"): $(wc -c <"$ko") bytes, vermagic and alias right"
