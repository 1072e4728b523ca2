# Written by testhost; run by the test host's init inside the chroot.
cd '/work/wt/criu-peer' || {
  echo "testhost: cannot enter the working directory" '/work/wt/criu-peer' >&2
  exit 125
}
exec env -i -- \
  'IS_SANDBOX=yes' \
  'SHELL=/bin/bash' \
  'PYTHONUNBUFFERED=1' \
  'TF_CLI_CONFIG_FILE=/root/.terraformrc' \
  'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  'CONTAINER_NAME=uid-vscdxz-cdvwpt-cdnnxs' \
  'PWD=/work/wt/criu-peer' \
  'HOME=/root' \
  'GIT_SSL_CAINFO=/etc/ssl/certs/ca-certificates.crt' \
  'LANG=C.UTF-8' \
  'CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE=/etc/ssl/certs/ca-certificates.crt' \
  'SSL_CERT_DIR=/etc/ssl/certs' \
  'NIX_SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
  'PIP_DEFAULT_TIMEOUT=180' \
  'TERM=xterm' \
  'RUSTUP_AUTO_INSTALL=0' \
  'CURL_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt' \
  'PIP_DISABLE_PIP_VERSION_CHECK=1' \
  'LIBRARY_PATH=/usr/local/cuda/lib64/stubs' \
  'SHLVL=1' \
  'PYTHONDONTWRITEBYTECODE=1' \
  'CLOUD_SDK_VERSION=528.0.0' \
  'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
  'PYENV_ROOT=/root/.pyenv' \
  'NVPL_BLAS_DEBUG_CPU_TYPE=1' \
  'PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
  'REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt' \
  'CUDA_HOME=/usr/local/cuda' \
  'AWS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt' \
  'PIP_FIND_LINKS=/opt/wheels' \
  'PATH=/root/.cargo/bin:/root/.cargo/bin:/root/.pyenv/plugins/pyenv-virtualenv/shims:/root/.pyenv/shims:/root/.pyenv/bin:/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  'HTTPLIB2_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  'RUST_BACKTRACE=1' \
  'GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=/etc/ssl/certs/ca-certificates.crt' \
  'DEBIAN_FRONTEND=noninteractive' \
  'OLDPWD=/work/wt/criu-peer' \
  '_=/root/.cache/bazel-ob/bench/execroot/faultline/bazel-out/k8-opt/bin/integration/testhost/testhost' \
  'TMPDIR=/tmp' \
  'TEST_TMPDIR=/tmp' \
  'TESTHOST_RESULTS=/tmp/testhost-results' \
  '/work/wt/criu-peer/integration/bench/peer_run.sh' '/root/.cache/bazel-ob/bench/execroot/faultline/bazel-out/k8-opt/bin/integration/bench/peer_bench' '--broker_binary=/root/.cache/bazel-ob/bench/execroot/faultline/bazel-out/k8-opt/bin/broker/broker' '--toucher_binary=/root/.cache/bazel-ob/bench/execroot/faultline/bazel-out/k8-opt/bin/integration/bench/criu_toucher' '--rows=local,stream+staging/unix,stream+prefetch/unix,stream+prefetch/tcp,stream+staging+prefetch/unix,criu/lazy-pages,criu/page-server' '--markdown=/tmp/testhost-results/peer.md' '--csv=/tmp/testhost-results/peer.csv' '--cdf_dir=/tmp/testhost-results/cdf'
