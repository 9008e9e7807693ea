#!/bin/bash
# Build the NSIS installer from a staged mingw build.
#   windows/installer.sh STAGE OUTFILE
# STAGE is the DESTDIR of `make install` in the mingw build (windows/build.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
stage=$(cd "$1" && pwd)
out=$2
command -v makensis >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q nsis >/dev/null
version=$(sed -n 's/^AC_INIT(\[tlspool\], \[\([^]]*\)\].*/\1/p' "$top/configure.ac")
# -WX: a warning (an unknown variable, a missing file) fails the build.
makensis -V2 -WX -DSTAGE="$stage" -DVERSION="$version" \
	-DOUTFILE="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")" \
	"$top/windows/tlspool.nsi"
echo "installer: $out (version $version)"
