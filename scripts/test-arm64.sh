#!/usr/bin/env bash
# The C bridge's tests (ctest) on arm64 from an x86-64 machine: cross-compiled with
# Debian's aarch64 gcc against Debian's arm64 oneDNN, run under qemu-user.
#
# Installs the cross compiler and qemu-user-static (apt-get, as root or with sudo),
# enables the arm64 architecture for package downloads (dpkg --add-architecture), and
# unpacks the arm64 oneDNN packages into a folder of the build (libdnnl-dev cannot be
# installed for two architectures at once).
set -euo pipefail
cd "$(dirname "$0")/.."
build=.build-arm64
sysroot="$PWD/$build/sysroot"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

if [ "$(uname -m)" = aarch64 ]; then
  echo "already on arm64: make test-c runs these tests natively" >&2
  exit 1
fi
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "enabling the arm64 architecture for package downloads"
  $sudo dpkg --add-architecture arm64
  $sudo apt-get update -qq
fi
scripts/install-deps.sh gcc-aarch64-linux-gnu libstdc++6-arm64-cross qemu-user-static

packages=(libdnnl-dev:arm64 libdnnl2:arm64 ocl-icd-libopencl1:arm64)
if [ ! -f "$sysroot/.unpacked" ]; then
  rm -rf "$build/debs" "$sysroot"
  mkdir -p "$build/debs" "$sysroot"
  (cd "$build/debs" && apt-get download -qq "${packages[@]}" 2>/dev/null) || {
    $sudo apt-get update -qq
    (cd "$build/debs" && apt-get download -qq "${packages[@]}")
  }
  for deb in "$build"/debs/*.deb; do dpkg-deb -x "$deb" "$sysroot"; done
  touch "$sysroot/.unpacked"
fi

export CRANET_ARM64_SYSROOT="$sysroot"
cmake -S . -B "$build/c" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake >/dev/null
cmake --build "$build/c" -j 2
file "$build/c/kernel_table_test" | grep -q aarch64 || { echo "kernel_table_test is not an arm64 binary" >&2; exit 1; }
cd "$build/c" && ctest --output-on-failure
