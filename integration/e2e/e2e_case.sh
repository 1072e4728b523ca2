#!/bin/bash
# The host side of one end-to-end case (the sh_test that e2e_test() declares):
# runs run_case.sh through testhost, so it gets /dev/kvm (a nested test host
# on machines without one). Paths become absolute first: the test host sees
# this machine's root, not Bazel's runfiles-relative working directory.
#
# e2e_case.sh TESTHOST TESTHOST_TIMEOUT RUN_CASE [run_case.sh arguments...]
set -uo pipefail

[[ $# -ge 3 ]] || { echo "usage: e2e_case.sh TESTHOST TIMEOUT RUN_CASE ARGS..." >&2; exit 2; }

# The test host replaces this machine's /tmp with its own. When the checkout
# lives under /tmp, the runfiles' symlinks lead there, so run from a copy of
# the runfiles (links followed) under /var/tmp instead.
stage=""
if [[ "$(realpath "$3")" == /tmp/* ]]; then
  stage=$(mktemp -d /var/tmp/faultline-e2e-XXXXXX) || exit 2
  trap 'rm -rf "$stage"' EXIT
  runfiles_root=$(cd .. && pwd)
  cp -rL "$runfiles_root" "$stage/runfiles" || { echo "e2e_case: cannot copy the runfiles to $stage" >&2; exit 2; }
  cd "$stage/runfiles/$(basename "$PWD")" || exit 2
fi
testhost=$(realpath "$1") || exit 2
testhost_timeout=$2
run_case=$(realpath "$3") || exit 2
shift 3

args=()
for arg in "$@"; do
  case "$arg" in
    --broker=* | --vmm=* | --payload=* | --kernel=* | --initrd=* | \
    --brokerctl=* | --pattern_image=* | --second_payload=*)
      # An --initrd may carry arguments after its file: "FILE ARGS".
      value=${arg#*=}
      file=${value%% *}
      rest=${value:${#file}}
      path=$(realpath "$file") || { echo "e2e_case: missing $file" >&2; exit 2; }
      arg="${arg%%=*}=$path$rest"
      ;;
  esac
  args+=("$arg")
done

results=()
if [[ -n "${TEST_UNDECLARED_OUTPUTS_DIR:-}" ]]; then
  # The console, serial output and logs end up in Bazel's test outputs.
  results=(--results="$TEST_UNDECLARED_OUTPUTS_DIR/testhost")
fi
status=0
"$testhost" run --timeout="$testhost_timeout" "${results[@]}" -- \
  "$run_case" "${args[@]}" || status=$?
exit "$status"
