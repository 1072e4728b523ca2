#!/bin/sh
# Runs client_test.py on Debian's Python (python3-grpcio, python3-protobuf),
# with the generated modules and the client on PYTHONPATH.
set -eu
here="${TEST_SRCDIR}/${TEST_WORKSPACE}"
export PYTHONPATH="${here}/broker/python"
exec /usr/bin/python3 "${here}/broker/python/client_test.py" \
  --broker_binary="${here}/broker/broker" \
  --examples="${here}/broker/python/examples"
