#!/bin/bash
# Build into _build/NAME with extra configure arguments; prints the dir.
# usage: scripts/build.sh NAME [configure args...]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
name=$1; shift
cd "$top"
[ -x configure ] || autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
mkdir -p "_build/$name"
cd "_build/$name"
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ]; then
	"$top/configure" --quiet "$@" >/dev/null
fi
make -j"$(nproc)" >/dev/null
echo "$top/_build/$name"
