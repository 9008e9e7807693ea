#!/bin/bash
# Cross-build the pool for 64-bit Windows with mingw-w64 into
# _build/win64, staged (make install-strip DESTDIR: the installer ships these) in _build/win64/stage.
#
#   windows/build.sh [configure args...]
#
# Dependencies (GnuTLS, libsodium, BerkeleyDB: static) come from the
# cache windows/deps.sh fills, $TLSPOOL_WIN_CACHE (default
# /var/cache/tlspool-win); deps.sh runs first when it exists.  Prints the
# stage directory.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
host=x86_64-w64-mingw32
cache=${TLSPOOL_WIN_CACHE:-/var/cache/tlspool-win}
prefix=$cache/$host
build=$top/_build/win64
stage=$build/stage

if [ -x "$top/windows/deps.sh" ] || [ -f "$top/windows/deps.sh" ]; then
	bash "$top/windows/deps.sh" >&2
fi
for f in include/gnutls/gnutls.h include/sodium.h include/db.h \
	 lib/pkgconfig/gnutls.pc lib/pkgconfig/libsodium.pc; do
	if [ ! -e "$prefix/$f" ]; then
		echo "windows/build.sh: $prefix/$f is missing (run windows/deps.sh)" >&2
		exit 1
	fi
done

cd "$top"
[ -x configure ] || autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ]; then
	"$top/configure" --quiet --host=$host --prefix=/ \
		PKG_CONFIG_LIBDIR="$prefix/lib/pkgconfig" \
		PKG_CONFIG_PATH= \
		CPPFLAGS="-I$prefix/include" LDFLAGS="-L$prefix/lib" \
		"$@" >&2
fi
make -j2 >&2
rm -rf "$stage"
make install-strip DESTDIR="$stage" >&2
echo "$stage"
