#!/bin/sh
# deps.sh — makes sure the Debian packages Seek builds and tests with are present.
# As root it installs what is missing (apt-get); otherwise it prints the command to run.
# Usage: scripts/deps.sh [build|test|fuzz]
set -eu
want="build-essential cmake ninja-build pkg-config libpcre2-dev libjansson-dev libmicrohttpd-dev libopenblas-dev libedit-dev libopenmpi-dev openmpi-bin"
case "${1:-build}" in
  test) want="$want clang python3 libsimde-dev" # SIMDe: AVX-512 kernels checked without AVX-512
        # node/npm may come from outside Debian (they do on some images): only install
        # Debian's when the commands are missing.
        if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
          want="$want nodejs npm"
        fi ;;
  fuzz) want="$want clang libclang-rt-14-dev" ;;
esac
# Optional for `test`: python3-torch lets the train_ref_reproduce test re-run the PyTorch
# reference (tests/ref); it is tried as root, and the test skips itself when it is absent.
if [ "${1:-build}" = test ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null &&
   ! dpkg-query -W -f='${Status}' python3-torch 2>/dev/null | grep -q "install ok installed"; then
  echo "seek: installing python3-torch (optional, for the PyTorch reference check)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-torch \
    >/dev/null 2>&1 || echo "seek: python3-torch could not be installed; its check will skip" >&2
fi
missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "seek: installing missing Debian packages:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || true
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
  echo "seek: missing Debian packages:$missing" >&2
  echo "install them with:  sudo apt-get install$missing" >&2
  exit 1
fi
