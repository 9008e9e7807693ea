#!/bin/bash
# "make install DESTDIR=..." puts the headers, libtlspool (.so and .a),
# tlspool.pc, the man pages and the programs in place; an application
# written the ARPA2 TLS Pool way (anchor_example.c) compiles against the
# installed tree with "pkg-config --cflags --libs tlspool" only, runs with
# the installed shared library against the installed daemon and gets its
# line echoed by gnutls-serv; and it links against the static library
# ("pkg-config --static --libs tlspool") and works the same.
. "$(dirname "$0")/lib.sh"

INST=$T/inst
CC=${CC:-cc}

step "make install DESTDIR=$INST"
make -C "$BUILD" install DESTDIR="$INST" >"$T/install.log" 2>&1 ||
	fail "make install failed: $(tail -5 "$T/install.log")"

prefix=$(sed -n 's/^prefix = //p' "$BUILD/Makefile")
[ -n "$prefix" ] || fail "no prefix in $BUILD/Makefile"
pcfile=$(find "$INST" -name tlspool.pc | head -1)
[ -n "$pcfile" ] || fail "tlspool.pc is not installed"
export PKG_CONFIG_PATH=$(dirname "$pcfile") PKG_CONFIG_SYSROOT_DIR=$INST
unset PKG_CONFIG_LIBDIR
pkg-config --exists tlspool || fail "pkg-config does not find tlspool in $PKG_CONFIG_PATH"
libdir=$INST$(PKG_CONFIG_SYSROOT_DIR= pkg-config --variable=libdir tlspool)
incdir=$INST$(PKG_CONFIG_SYSROOT_DIR= pkg-config --variable=includedir tlspool)
mandir=$INST$prefix/share/man
echo "    prefix $prefix; libdir $libdir; includedir $incdir"

step "installed files"
need() {	# need TEST PATH...
	local t=$1 f
	shift
	for f in "$@"; do
		test "$t" "$f" || fail "not installed (test $t): ${f#"$INST"}"
	done
}
need -f "$incdir"/tlspool/{commands,starttls,async}.h
need -f "$libdir"/libtlspool.a "$pcfile"
need -e "$libdir"/libtlspool.so
need -e "$libdir"/libtlspool.so.0
[ "$(dirname "$pcfile")" = "$libdir/pkgconfig" ] ||
	fail "tlspool.pc is in $(dirname "$pcfile"), not $libdir/pkgconfig"
need -f "$mandir"/man3/libtlspool.3
for f in tlspool_starttls tlspool_ping tlspool_control_detach \
	tlspool_control_reattach tlspool_prng tlspool_info \
	tlspool_async_open tlspool_async_request tlspool_async_process; do
	need -f "$mandir/man3/$f.3"
done
need -f "$mandir"/man1/tlstunnel.1 "$mandir"/man1/tlspool-ping.1 \
	"$mandir"/man5/tlspool.conf.5 "$mandir"/man8/tlspool-daemon.8
need -x "$INST$prefix"/sbin/tlspool-daemon "$INST$prefix"/bin/tlstunnel \
	"$INST$prefix"/bin/tlspool-ping
for f in "$incdir"/tlspool/*.h; do
	grep -q -E '#include "' "$f" && fail "installed header $(basename "$f") includes a private header"
done

step "pkg-config --cflags --libs tlspool"
cflags=$(pkg-config --cflags tlspool) || fail "pkg-config --cflags"
libs=$(pkg-config --libs tlspool) || fail "pkg-config --libs"
echo "    cflags: $cflags"
echo "    libs:   $libs"
[[ " $cflags " == *" -I$incdir "* ]] || fail "cflags do not point at $incdir"
[[ " $libs " == *" -L$libdir "* ]] || fail "libs do not point at $libdir"
[[ " $libs " == *" -ltlspool "* ]] || fail "libs lack -ltlspool"

# A sanitizer build's library needs the sanitizer runtime in the program.
san=$(sed -n 's/^CFLAGS = //p' "$BUILD/Makefile" | tr ' ' '\n' |
	grep -E '^-f(no-)?sanitize' | tr '\n' ' ')
[ -n "$san" ] && echo "    sanitizer flags: $san"

step "compile anchor_example.c against the installed tree"
# shellcheck disable=SC2086
"$CC" -Wall -Wextra -Werror $san $cflags -o "$T/anchor" \
	"$IT_DIR/anchor_example.c" $libs >"$T/cc.log" 2>&1 ||
	fail "anchor_example does not compile: $(head -20 "$T/cc.log")"
readelf -d "$T/anchor" | grep -q "NEEDED.*libtlspool\.so\.0" ||
	fail "anchor is not linked against libtlspool.so.0"
LD_LIBRARY_PATH=$libdir ldd "$T/anchor" >"$T/ldd.out" 2>&1
grep -q "libtlspool\.so\.0 => $libdir/libtlspool\.so\.0" "$T/ldd.out" ||
	fail "anchor does not load the installed library: $(grep tlspool "$T/ldd.out")"

step "the installed daemon, tlspool-ping and anchor against gnutls-serv --echo"
make_ca
make_cert localhost --dns localhost
DAEMON_BIN=$INST$prefix/sbin/tlspool-daemon
start_daemon
LD_LIBRARY_PATH=$libdir "$INST$prefix/bin/tlspool-ping" -p "$DAEMON_SOCK" \
	>"$T/ping.out" 2>&1 || fail "installed tlspool-ping: $(cat "$T/ping.out")"
grep -q "facilities:.*STARTTLS" "$T/ping.out" ||
	fail "installed tlspool-ping: $(cat "$T/ping.out")"
start_gnutls_serv echo localhost
LD_LIBRARY_PATH=$libdir timeout 20 "$T/anchor" localhost 127.0.0.1 "$SERV_PORT" \
	>"$T/anchor.out" 2>&1
st=$?
sed 's/^/    /' "$T/anchor.out"
[ $st = 0 ] || fail "anchor (shared) exit status $st"
grep -q "^ping: .* facilities 0x[0-9a-f]*[13579bdf]$" "$T/anchor.out" || fail "anchor: ping"
grep -q '^namedconnect: local="" remote="localhost"$' "$T/anchor.out" ||
	fail "anchor: namedconnect was not called with the daemon's view"
grep -q '^starttls: local="" remote="localhost"$' "$T/anchor.out" ||
	fail "anchor: the STARTTLS reply lacks the authenticated remote identity"
grep -q "^echo: ok$" "$T/anchor.out" || fail "anchor: no echo"
grep -q "hello through the installed libtlspool" "$SERV_LOG" ||
	fail "gnutls-serv did not see anchor's line"

step "link anchor_example.c against the static library"
slibs=$(pkg-config --static --libs tlspool) || fail "pkg-config --static --libs"
echo "    static libs: $slibs"
# Only libtlspool static; the C library and its dependencies stay shared.
slibs=" $slibs "
slibs=${slibs/ -ltlspool / -Wl,-Bstatic -ltlspool -Wl,-Bdynamic }
# shellcheck disable=SC2086
"$CC" -Wall -Wextra -Werror $san $cflags -o "$T/anchor_static" \
	"$IT_DIR/anchor_example.c" $slibs >"$T/cc_static.log" 2>&1 ||
	fail "static link with 'pkg-config --static --libs tlspool' fails: $(grep -m5 -E 'undefined|error' "$T/cc_static.log")"
readelf -d "$T/anchor_static" | grep -q "NEEDED.*libtlspool" &&
	fail "anchor_static still needs libtlspool.so"
timeout 20 "$T/anchor_static" localhost 127.0.0.1 "$SERV_PORT" \
	>"$T/anchor_static.out" 2>&1
st=$?
sed 's/^/    /' "$T/anchor_static.out"
[ $st = 0 ] || fail "anchor (static) exit status $st"
grep -q "^echo: ok$" "$T/anchor_static.out" || fail "anchor (static): no echo"

daemon_alive
pass
