#!/bin/sh
# Installs the Debian packages cgagent needs to build, test and demo.
# Idempotent: asks dpkg first and only calls apt-get for what is missing.
set -eu

PKGS="build-essential pkg-config clang libclang-rt-14-dev \
libunwind-dev libcurl4-openssl-dev libmbedtls-dev libjansson-dev zlib1g-dev \
libexpat1-dev libinih-dev libcmocka-dev openjdk-17-jdk-headless \
python3 xz-utils sqlite3 perl ca-certificates chromium protobuf-compiler \
mandoc golang-go python3-yaml"
# make dist builds the bundled libraries from Debian's sources (autotools
# for jansson and expat, dist/build-deps.sh), and its tests run old
# programs under an old glibc (patchelf) and musl programs (musl-tools).
PKGS="$PKGS autoconf automake libtool dpkg-dev patchelf musl-tools"
# make bench compares with gperftools and loads a redis server.
PKGS="$PKGS libgoogle-perftools-dev redis-server redis-tools"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done

# Node.js runs the JIT perf-map test; any node will do (Debian's nodejs
# package when the machine has none).
if ! command -v node >/dev/null 2>&1; then
    missing="$missing nodejs"
fi

if [ -z "$missing" ]; then
    exit 0
fi

echo "deps: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
