#!/bin/sh
# Builds the libraries the portable build bundles (dist/deps.lock) as
# static, position-independent archives under OUT/prefix, from Debian's
# source packages, with every object compiled against PINS (the glibc
# symbol-version pins, dist/glibc_pins.py) so that nothing in them needs a
# glibc newer than the floor.
#
#   sh dist/build-deps.sh OUT PINS CC
#
# PINS "none" builds without pins: the musl build (make dist-musl,
# dist/musl.mk), CC=musl-gcc.  musl has no symbol versions, so there is
# nothing to pin; which libc CC builds for is asked of CC itself.
#
# Idempotent and cached: OUT/prefix/.stamp holds a digest of the lock file,
# this script, the pins and the libc; a build whose digest matches does
# nothing.
# Sources are fetched by apt-get through a private configuration in
# OUT/apt (lists, cache and sources.list of its own); the machine's apt
# sources and state are never read or written.  apt checks each .dsc
# against the archive's signed index and dpkg-source each tarball against
# its .dsc.  Any failure stops with the package's name and exit status 1.
set -eu

OUT=$1
PINS=$2
CC=${3:-cc}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LOCK=$ROOT/dist/deps.lock
JOBS=${JOBS:-2}
PREFIX=$OUT/prefix

# __GLIBC__ comes with any libc header on glibc and never on musl.
if printf '#include <stdio.h>\n#ifndef __GLIBC__\n#error\n#endif\n' |
    $CC -E -x c - >/dev/null 2>&1; then LIBC=glibc; else LIBC=musl; fi
PIN_FILES=$PINS
PIN_FLAGS="-include $PINS"
if [ "$PINS" = none ] || [ -z "$PINS" ]; then PIN_FILES=/dev/null PIN_FLAGS=; fi
digest=$( (cat "$LOCK" "$0" "$PIN_FILES"; echo "$LIBC") | sha256sum | cut -c1-64)
if [ -f "$PREFIX/.stamp" ] && [ "$(cat "$PREFIX/.stamp")" = "$digest" ]; then
    exit 0
fi

say() { printf '  %-7s %s\n' DEPS "$*"; }
die() { echo "dist: $*" >&2; exit 1; }
# A source Debian's archive does not serve (no network, or a version gone
# from it) is told apart from a build that fails: OUT/fetch-failed says
# why, and the tests that need the tarball skip with it (tests/e2e/test_dist.py).
unfetched() { echo "$*" >"$OUT/fetch-failed"; die "$*"; }

# --- fetch ---------------------------------------------------------------
APT=$OUT/apt
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$OUT/src"
suites=$(awk '!/^#/ && NF == 4 { print $4 }' "$LOCK" | sort -u)
: >"$APT/sources.list"
for s in $suites; do
    echo "deb http://deb.debian.org/debian $s main" >>"$APT/sources.list"
    echo "deb-src http://deb.debian.org/debian $s main" >>"$APT/sources.list"
done
apt_opts="-q -o Dir::Etc::SourceList=$APT/sources.list -o Dir::Etc::SourceParts=/dev/null
 -o Dir::State::Lists=$APT/lists -o Dir::Cache=$APT/cache -o Dir::State::status=/dev/null
 -o APT::Sandbox::User=$(id -un) -o Debug::NoLocking=1"
# shellcheck disable=SC2086
rm -f "$OUT/fetch-failed"
apt-get $apt_opts update >"$APT/update.log" 2>&1 ||
    unfetched "apt-get update of Debian $suites failed (see $APT/update.log)"

rm -rf "$OUT/src" "$PREFIX"
mkdir -p "$OUT/src" "$PREFIX/lib" "$PREFIX/include"
awk '!/^#/ && NF == 4 { print $1, $2, $3 }' "$LOCK" | while read -r kind pkg ver; do
    say "fetch $pkg $ver"
    if [ "$kind" = source ]; then
        # shellcheck disable=SC2086
        (cd "$OUT/src" && apt-get $apt_opts source --download-only "$pkg=$ver" \
            >"$OUT/src/$pkg.fetch.log" 2>&1) ||
            unfetched "cannot fetch the source of $pkg $ver (see $OUT/src/$pkg.fetch.log)"
        dsc=$(ls "$OUT/src/${pkg}_"*.dsc)
        (cd "$OUT/src" && dpkg-source --no-copy -x "$dsc" "$pkg" >"$pkg.unpack.log" 2>&1) ||
            die "cannot unpack $dsc (see $OUT/src/$pkg.unpack.log)"
    else
        # shellcheck disable=SC2086
        (cd "$OUT/src" && apt-get $apt_opts download "$pkg=$ver" \
            >"$OUT/src/$pkg.fetch.log" 2>&1) ||
            unfetched "cannot fetch $pkg $ver (see $OUT/src/$pkg.fetch.log)"
        dpkg-deb -x "$OUT/src/${pkg}_"*.deb "$OUT/src/$pkg"
    fi
done

# --- build ---------------------------------------------------------------
# -ftls-model=initial-exec: libunwind keeps its fast trace's cache pointer
# in thread-local storage, and the SIGPROF handler reaches it.  A library
# loaded by dlopen gets dynamic TLS, allocated with malloc on a thread's
# first access: not something a signal handler may do.  Initial-exec puts
# it in the static TLS block the loader reserves for such libraries (16
# bytes; docs/install.md).
CFLAGS_DEPS="-O2 -g -fPIC -fvisibility=hidden $PIN_FLAGS"
# Functions newer than the floor that configure scripts would otherwise
# find on the build machine's glibc and use.
export ac_cv_func_getrandom=no ac_cv_func_getentropy=no ac_cv_func_arc4random=no \
    ac_cv_func_arc4random_buf=no ac_cv_func_explicit_bzero=no ac_cv_func_reallocarray=no
export CC
log() { echo "$OUT/src/$1.build.log"; }

say "build zlib"
(cd "$OUT/src/zlib" && CFLAGS="$CFLAGS_DEPS" ./configure --static --prefix="$PREFIX" &&
    make -j"$JOBS" libz.a && make install-libs install-headers 2>/dev/null ||
    { cp libz.a "$PREFIX/lib/" && cp zlib.h zconf.h "$PREFIX/include/"; }) \
    >"$(log zlib)" 2>&1 || die "zlib failed to build (see $(log zlib))"

say "build libunwind"
(cd "$OUT/src/libunwind" &&
    CFLAGS="$CFLAGS_DEPS -ftls-model=initial-exec" ./configure --prefix="$PREFIX" \
        --disable-shared --enable-static --with-pic --disable-minidebuginfo \
        --disable-zlibdebuginfo --disable-coredump --disable-setjmp \
        --disable-documentation --disable-tests --disable-debug-frame \
        --enable-ptrace &&
    make -j"$JOBS" && make install) >"$(log libunwind)" 2>&1 ||
    die "libunwind failed to build (see $(log libunwind))"

say "build jansson"
(cd "$OUT/src/jansson" && autoreconf -fi && CFLAGS="$CFLAGS_DEPS" ./configure \
        --prefix="$PREFIX" --disable-shared --enable-static --with-pic &&
    make -j"$JOBS" -C src && make -C src install &&
    cp jansson.pc "$PREFIX/lib/" 2>/dev/null || true) >"$(log jansson)" 2>&1
[ -f "$PREFIX/lib/libjansson.a" ] || die "jansson failed to build (see $(log jansson))"

# expat's arc4random checks are its own, with no cache variable: its
# configuration is corrected after the fact, and expat takes its hash salt
# from the getrandom system call, as on any glibc before 2.36.
say "build expat"
(cd "$OUT/src/expat/expat" && ./buildconf.sh && CFLAGS="$CFLAGS_DEPS" ./configure \
        --prefix="$PREFIX" --disable-shared --enable-static --with-pic \
        --without-docbook --without-examples --without-tests --without-xmlwf \
        --without-getrandom --with-sys-getrandom &&
    sed -i -e 's/^#define HAVE_ARC4RANDOM_BUF 1$/#undef HAVE_ARC4RANDOM_BUF/' \
        -e 's/^#define HAVE_ARC4RANDOM 1$/#undef HAVE_ARC4RANDOM/' expat_config.h &&
    make -j"$JOBS" -C lib && make -C lib install) >"$(log expat)" 2>&1 ||
    die "expat failed to build (see $(log expat))"

say "build mbedtls"
(cd "$OUT/src/mbedtls/library" && make -j"$JOBS" CC="$CC" CFLAGS="$CFLAGS_DEPS" libmbedcrypto.a &&
    cp libmbedcrypto.a "$PREFIX/lib/" && cp -r ../include/mbedtls "$PREFIX/include/") \
    >"$(log mbedtls)" 2>&1 || die "mbedtls failed to build (see $(log mbedtls))"

say "take libinih"
cp "$OUT/src/libinih-dev/usr/lib/"*/libinih.a "$PREFIX/lib/"
cp "$OUT/src/libinih-dev/usr/include/ini.h" "$PREFIX/include/"
# Debian's ini.c object is built for glibc; with musl only its fopen64
# (glibc's large-file name, in musl an alias kept for old binaries) is
# named for what it is.  Its other calls (fgets, malloc, strchr, and
# __ctype_b_loc, which musl provides for glibc's ABI) are musl's own.
if [ "$LIBC" = musl ]; then
    objcopy --redefine-sym fopen64=fopen "$PREFIX/lib/libinih.a"
fi

echo "$digest" >"$PREFIX/.stamp"
