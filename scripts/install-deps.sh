#!/usr/bin/env bash
# Installs with apt-get what the build, the tests and the demo need. Idempotent and quiet
# when everything is present. Run as root on Debian 12.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  libboost1.81-dev libboost-system1.81-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libssl-dev libsqlite3-dev sqlite3
  googletest libgtest-dev libgmock-dev
  libarchive-dev libzstd-dev zstd
  rsync python3 openssh-server openssh-client
  tar coreutils procps iproute2 curl
  chromium
  # Real Portage in the tests (tests/support/portage-prefix.sh) and signing on the orchestrator.
  xz-utils bzip2 wget pax-utils gnupg
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run this script as root" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
