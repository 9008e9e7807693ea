#!/bin/bash
# shellcheck disable=SC2317  # recipe_<pkg> functions are called indirectly
# Cross-build the Windows (x86_64-w64-mingw32) dependencies of the pool
# from Debian bookworm source packages, as static libraries, into a cache
# outside the source tree.  Idempotent: a package is rebuilt only when its
# Debian source version or its recipe_<pkg> function below changes.
#
# usage: windows/deps.sh            (as root on Debian 12)
# env:   TLSPOOL_WIN_CACHE  cache directory (default /var/cache/tlspool-win)
#        JOBS               make parallelism (default 2)
set -euo pipefail

HOST=x86_64-w64-mingw32
CACHE=${TLSPOOL_WIN_CACHE:-/var/cache/tlspool-win}
PREFIX=$CACHE/$HOST
SRC=$CACHE/src
STAMPS=$CACHE/stamps
JOBS=${JOBS:-2}
PACKAGES=(gmp nettle libtasn1-6 gnutls28 openldap libsodium db5.3 ldns expat unbound krb5)
TOOLS=(gcc make gcc-mingw-w64-x86-64-posix binutils-mingw-w64-x86-64
	mingw-w64-tools dpkg-dev pkgconf m4 xz-utils autoconf automake libtool
	wine wine64 bison flex)	# bison, flex: unbound (Debian patches its grammar)

die() { echo "deps.sh: $*" >&2; exit 1; }

# ---------------------------------------------------------------- host setup

# Install the build tools that are missing (dpkg-query is fast; apt is not).
ensure_tools() {
	local missing=() p
	for p in "${TOOLS[@]}"; do
		dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null |
			grep -q '^ii' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "installing: ${missing[*]}"
	apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install ${missing[*]} failed"
}

# Add a deb-src entry mirroring the existing deb entry, if there is none.
ensure_deb_src() {
	local f=/etc/apt/sources.list.d/debian-src.sources uris
	if grep -qsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list \
		/etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list
	then
		return 0
	fi
	# the URIs of the first stanza that serves bookworm (not -security)
	uris=$(awk 'BEGIN { RS = ""; FS = "\n" }
		/(^|\n)Suites:[^\n]*bookworm( |$|\n)/ && !/security/ {
			for (i = 1; i <= NF; i++)
				if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); print $i; exit }
		}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
	uris=${uris:-http://deb.debian.org/debian}
	echo "adding deb-src entry $f ($uris)"
	cat >"$f" <<EOF
Types: deb-src
URIs: $uris
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	apt-get update >/dev/null || die "apt-get update failed"
}

# Print "PKG VERSION" with the newest source version apt knows of each package.
source_versions() {
	apt-cache showsrc "${PACKAGES[@]}" | awk '
		/^Package:/ { p = $2 } /^Version:/ { print p, $2 }' |
	while read -r p v; do
		if [ -z "${best[$p]:-}" ] ||
			dpkg --compare-versions "$v" gt "${best[$p]}"; then
			best[$p]=$v
		fi
		# emit progressively; the last line per package wins in the caller
		echo "$p ${best[$p]}"
	done
}

# ------------------------------------------------------------ build helpers

# Download (cached) and freshly unpack PKG=VERSION with Debian's patches
# applied; sets $TREE to the unpacked source directory.
fetch_unpack() {
	local pkg=$1 ver=$2 dl=$SRC/$1/dl dsc
	mkdir -p "$dl"
	dsc=$dl/${pkg}_${ver#*:}.dsc
	if [ ! -f "$dsc" ]; then
		(cd "$dl" && apt-get -o APT::Sandbox::User=root source \
			--download-only "$pkg=$ver") || return 1
	fi
	TREE=$SRC/$pkg/tree
	rm -rf "$TREE"
	dpkg-source --no-check -x "$dsc" "$TREE" >/dev/null || return 1
}

# build_autotools PKG SUBDIR [configure args...]
# Configure in $TREE/SUBDIR for the mingw host, make and install into
# $PREFIX.  The caller may set (as locals): configure (script relative to
# SUBDIR, default ./configure), autoreconf (non-empty: run autoreconf -fi
# first, as Debian's dh_autoreconf does), make_dirs (dirs to make, default .),
# make_args (make arguments, default none), install_args (default install).
build_autotools() {
	local pkg=$1 sub=$2 d
	shift 2
	if [ -n "${autoreconf:-}" ]; then
		(cd "$TREE" && autoreconf -fi)
	fi
	cd "$TREE/$sub"
	"${configure:-./configure}" --host="$HOST" --prefix="$PREFIX" \
		--enable-static --disable-shared "$@"
	for d in ${make_dirs:-.}; do
		# shellcheck disable=SC2086
		make -C "$d" -j"$JOBS" ${make_args:-}
		# shellcheck disable=SC2086
		make -C "$d" ${install_args:-install}
	done
}

# -------------------------------------------------------------- the recipes
# Each recipe_<pkg> runs with $TREE unpacked and the log open; its text is
# hashed into the package's stamp, so editing it triggers a rebuild.

recipe_gmp() {
	local autoreconf=1	# Debian's patches drop doc/ from configure.ac
	build_autotools gmp . --disable-cxx --with-pic MAKEINFO=true
}

recipe_nettle() {
	# no tools, testsuite or examples
	local make_args='SUBDIRS=' install_args='SUBDIRS= install'
	build_autotools nettle . --disable-documentation --disable-openssl \
		--disable-fat --with-include-path="$PREFIX/include" \
		--with-lib-path="$PREFIX/lib"
}

recipe_libtasn1-6() {
	local make_dirs=lib	# the library and libtasn1.pc; no tools/docs
	build_autotools libtasn1-6 . --disable-doc --disable-valgrind-tests \
		MAKEINFO=true
}

recipe_gnutls28() {
	local make_dirs='gl lib'	# no docs, tools, tests or extra/
	build_autotools gnutls28 . --with-included-unistring \
		--without-included-libtasn1 --without-p11-kit --without-idn \
		--without-tpm --without-tpm2 --disable-doc --disable-manpages \
		--disable-tests --disable-full-test-suite --disable-tools \
		--disable-cxx --disable-guile --disable-nls --disable-libdane \
		--without-zlib --without-brotli --without-zstd \
		--disable-valgrind-tests --disable-gtk-doc
	# Libs.private must carry the Windows system libraries for -static use;
	# 3.7.9's configure already puts them there, this is only a guard.
	sed -i '/^Libs.private:/{/-lcrypt32/!s/$/ -lcrypt32 -lncrypt -lbcrypt -lws2_32/}' \
		"$PREFIX/lib/pkgconfig/gnutls.pc"
}

recipe_openldap() {
	# Only the client libraries (libldap, liblber) and their headers, TLS
	# through the GnuTLS above, no SASL, no slapd.  PROGRAMS= skips the
	# libraries' test programs (they need liblutil, which is not built).
	local make_dirs='include libraries/liblber libraries/libldap' \
		make_args='PROGRAMS=' install_args='PROGRAMS= install' h=$HOST
	# BILLION is a long (32 bits on Windows): 10 * BILLION overflows in
	# the emulated gettimeofday that the LDAP timeouts are measured with
	sed -i 's/^#define BILLION\t1000000000L$/&L/' \
		"$TREE/libraries/libldap/util-int.c"
	grep -q '^#define BILLION.1000000000LL$' \
		"$TREE/libraries/libldap/util-int.c"
	# gnutls_fingerprint takes a size_t *, bv_len is a 32-bit ber_len_t
	# here; the hash length is already in bv_len and does not change
	sed -i 's/keyhash\.bv_val, &keyhash\.bv_len )/keyhash.bv_val, (size_t[]){ keyhash.bv_len } )/' \
		"$TREE/libraries/libldap/tls_g.c"
	grep -q '(size_t\[\]){ keyhash.bv_len }' "$TREE/libraries/libldap/tls_g.c"
	# No ldap.conf, ldaprc or LDAP* environment variables (as if LDAPNOINIT
	# were set): the compiled-in ldap.conf path is under the cache prefix,
	# i.e. \var\cache\... on the current drive, which any local user may
	# create, and ldaprc is read from the working and home directories;
	# options there (e.g. SOCKET_BIND_ADDRESSES) reach the daemon's LDAP
	# handles.  The pool sets the options it needs on each handle.
	sed -i 's/if( getenv("LDAPNOINIT") != NULL ) {/if( 1 ) {/' \
		"$TREE/libraries/libldap/init.c"
	grep -q '^	if( 1 ) {$' "$TREE/libraries/libldap/init.c"
	# Its configure looks for "cc" first, so the tools are named.  LIBS:
	# the static GnuTLS needs its dependencies for the gnutls_init check.
	# Cache answers: regex is for slapd only; fcntl and getdtablesize are
	# found in GnuTLS's gnulib objects but not declared by mingw (the
	# library's Winsock/FD_SETSIZE paths are meant); with ws2_32 already
	# in LIBS the winsock check says "none" and leaves out HAVE_WINSOCK2
	# (ws2tcpip.h: getaddrinfo, IPv6); the memcmp check cannot run when
	# cross-compiling and would ask for liblutil's replacement.
	build_autotools openldap . --with-tls=gnutls --without-cyrus-sasl \
		--disable-slapd --disable-backends --disable-overlays \
		--without-systemd CC="$h-gcc" AR="$h-ar" RANLIB="$h-ranlib" \
		STRIP="$h-strip" LIBS="$(pkg-config --static --libs gnutls)" \
		ac_cv_header_regex_h=yes ac_cv_search_regfree='none required' \
		ol_cv_c_posix_regex=yes ac_cv_func_fcntl=no \
		ac_cv_func_getdtablesize=no ol_cv_winsock=ws2_32 \
		ac_cv_func_memcmp_working=yes
	# configure makes the .pc files, the Makefiles do not install them
	install -m644 libraries/liblber/lber.pc libraries/libldap/ldap.pc \
		"$PREFIX/lib/pkgconfig/"
}

recipe_libsodium() {
	local autoreconf=1 make_dirs=src	# the source ships no configure
	build_autotools libsodium . --disable-debug --disable-pie
	install -m644 libsodium.pc "$PREFIX/lib/pkgconfig/"
	# Static linking on Windows needs SODIUM_STATIC (no dllimport).
	sed -i '/^Cflags:/{/SODIUM_STATIC/!s/$/ -DSODIUM_STATIC/}' \
		"$PREFIX/lib/pkgconfig/libsodium.pc"
}

recipe_db5.3() {
	local configure=../dist/configure make_args=library_build \
		install_args='install_include install_lib'
	# mingw-w64 headers are lower case; the source names the MSVC spelling
	sed -i 's/<WinIoCtl\.h>/<winioctl.h>/' "$TREE/src/dbinc/win_db.h"
	build_autotools db5.3 build_unix --enable-mingw --disable-replication \
		--disable-cxx --disable-java --disable-tcl --disable-sql
}

recipe_ldns() {
	# RR and packet parsing only: without OpenSSL there is no DNSSEC
	# signing/verification in ldns (libunbound validates) and no DANE
	local make_args=lib install_args='install-h install-lib install-pc'
	# edns.c alone includes no config.h, which brings in Winsock
	# (socklen_t in ldns/net.h) on Windows.  Winsock has inet_pton and
	# inet_ntop (configure misses them): ldns's own copies would clash.
	sed -i '0,/^#include <ldns\/ldns.h>/s//#include <ldns\/config.h>\n&/' \
		"$TREE/edns.c"
	build_autotools ldns . --without-ssl --disable-sha2 --disable-gost \
		--disable-ecdsa --disable-dsa --disable-ed25519 --disable-ed448 \
		--disable-dane --without-drill --without-examples \
		--without-pyldns --without-p5-dns-ldns \
		ac_cv_func_inet_pton=yes ac_cv_func_inet_ntop=yes
}

recipe_expat() {
	# unbound's configure insists on expat.h, but only unbound-anchor
	# uses expat and libunbound does not: the headers are enough (the
	# source ships no configure, so this also saves an autoreconf)
	install -m644 "$TREE"/expat/lib/expat.h \
		"$TREE"/expat/lib/expat_external.h "$PREFIX/include/"
}

recipe_unbound() {
	# libunbound only, with nettle for the DNSSEC crypto; Windows threads
	local make_args=lib install_args=install-lib
	# Its Windows-only code assumes OpenSSL (the CA store, the TCP BIO
	# callback) and val_sigcrypt.c gets <time.h> only through OpenSSL
	perl -0pi -e 's/#ifdef USE_WINSOCK\n(\/\* For windows, the CA trust)/#if defined(USE_WINSOCK) \&\& defined(HAVE_SSL)\n$1/' \
		"$TREE/util/net_help.c"
	perl -0pi -e 's/#ifdef USE_WINSOCK\n(static long win_bio_cb)/#if defined(USE_WINSOCK) \&\& defined(HAVE_SSL)\n$1/' \
		"$TREE/util/netevent.c"
	# ... and without OpenSSL there is no BIO to hook (c->ssl is NULL)
	perl -0pi -e 's/(\(char\*\)c->ev->ev\);\n\}\n#endif\n)/$1#if defined(USE_WINSOCK) \&\& !defined(HAVE_SSL)\nvoid comm_point_tcp_win_bio_cb(struct comm_point* ATTR_UNUSED(c),\n\tvoid* ATTR_UNUSED(thessl)) {}\n#endif\n/' \
		"$TREE/util/netevent.c"
	sed -i '0,/^#include "config.h"/s//&\n#include <time.h>/' \
		"$TREE/validator/val_sigcrypt.c"
	build_autotools unbound . --with-libunbound-only \
		--with-nettle="$PREFIX" --with-libexpat="$PREFIX" \
		--without-pthreads --without-solaris-threads --disable-flto \
		--disable-gost --with-pyunbound=no --with-pythonmodule=no
}

# MIT krb5 (libkrb5, k5crypto, krb5support, com_err; no GSSAPI, KDC or
# tools).  Upstream builds Windows with nmake/MSVC, where autoconf.h is a
# copy of win-mac.h; its autoconf build does cross-configure for mingw, and
# the _WIN32 code then compiles with the small fixes below.  Threads are
# winpthreads (k5-thread.h picks pthreads first), the file ccache and
# keytab are the portable ones; no CCAPI/MSLSA ccache, no DNS lookups.
recipe_krb5() {
	local s=$TREE/src w lib
	cd "$s"
	# no res_search on Windows (the MSVC build uses DnsQuery) -> no DNS
	sed -i 's/^enable_dns=yes$/enable_dns=no/' configure
	# the shared-library platform check also fails static-only builds
	# shellcheck disable=SC2016  # configure's shell text, literally
	sed -i 's/^if test "\$SHLIBEXT" = ".so-nobuild"; then$/if test "$SHLIBEXT" = ".so-nobuild" \&\& test "x$enable_shared" = xyes; then/' configure
	# threads.c tests _WIN32 before pthreads, k5-thread.h the reverse
	sed -i 's/^#elif defined(_WIN32)$/#elif defined(_WIN32) \&\& !defined(HAVE_PTHREAD)/' \
		util/support/threads.c
	# MSVC spellings of header names
	sed -i 's|<sys\\types\.h>|<sys/types.h>|; s|<sys\\stat\.h>|<sys/stat.h>|' \
		include/win-mac.h
	sed -i 's/<Shlobj\.h>/<shlobj.h>/' lib/krb5/os/init_os_ctx.c
	# CCAPI (krbcc32.dll) and the MSLSA ccache are not built
	sed -i 's/^#if defined(_WIN32) || defined(USE_CCAPI)$/#if defined(USE_CCAPI)/' \
		lib/krb5/krb5_libinit.c
	sed -i '/^#ifdef _WIN32$/{N;s/^#ifdef _WIN32\nextern const krb5_cc_ops krb5_lcc_ops;/#if 0 \/* mingw: no MSLSA ccache *\/\nextern const krb5_cc_ops krb5_lcc_ops;/}' \
		lib/krb5/ccache/ccbase.c
	# K&R definition disagreeing with its prototype (MSVC accepts it)
	sed -i '/^krb5_read_password(context, prompt, prompt2, return_pwd, size_return)$/,/^{/s/^    int \*size_return;/    unsigned int *size_return;/' \
		lib/krb5/os/read_pwd.c
	# win_glue.c (the DLL's DllMain, version check, CCAPI loader) is not
	# linked into a static library
	sed -i 's/^#if (defined(_WIN32))$/#if defined(_WIN32) \&\& !defined(__MINGW32__)/' \
		lib/krb5/krb/init_ctx.c
	# plugins.c's _WIN32 opendir/readdir/closedir stand-ins are internal
	# to the DLL; in a static library they would replace mingw's
	sed -i -e 's/^DIR \* opendir(const char \*dir)$/static &/' \
		-e 's/^struct dirent \* readdir(DIR \*dp)$/static &/' \
		-e 's/^int closedir(DIR \*dp)$/static &/' util/support/plugins.c
	[ "$(grep -c '^static \(DIR \* opendir\|struct dirent \* readdir\|int closedir\)(' \
		util/support/plugins.c)" = 3 ]
	# upstream bug in the _WIN32 branch: the directory argument is missing
	sed -i 's/"%s\\\\krb5\.rcache2")/"%s\\\\krb5.rcache2", dir)/' \
		lib/krb5/rcache/rc_dfl.c
	grep -q 'krb5.rcache2", dir)' lib/krb5/rcache/rc_dfl.c
	printf '\n#ifdef __MINGW32__\n/* static mingw build: no win_glue.c */\nHINSTANCE get_lib_instance(void) { return GetModuleHandle(NULL); }\n#endif\n' \
		>>lib/krb5/os/expand_path.c
	# run-time tests answered for the cross build: gcc has constructors,
	# mingw has no regcomp and no positional printf; no dirent.h (the
	# _WIN32 code brings its own), secure_getenv is getenv on _WIN32;
	# ws2_32 has getaddrinfo & co. (link tests miss them: WINAPI), else
	# krb5's IPv4-only stand-in refuses AI_NUMERICSERV (EINVAL)
	./configure --host="$HOST" --prefix="$PREFIX" --enable-static \
		--disable-shared --disable-rpath --without-system-verto \
		--without-ldap --without-keyutils --without-libedit \
		--without-readline --without-lmdb --disable-pkinit \
		--without-netlib --with-crypto-impl=builtin --with-tls-impl=no \
		--without-spake-openssl \
		krb5_cv_attr_constructor_destructor=yes,yes \
		ac_cv_func_regcomp=no ac_cv_printf_positional=no \
		ac_cv_header_dirent_dirent_h=no ac_cv_header_dirent_h=no \
		ac_cv_func_secure_getenv=yes ac_cv_func_getaddrinfo=yes \
		ac_cv_func_getnameinfo=yes ac_cv_func_inet_ntop=yes \
		ac_cv_func_inet_pton=yes
	# the _WIN32 code expects autoconf.h (= win-mac.h there) to pull in
	# the Windows headers; objbase.h's "interface" macro breaks plugin.c
	cat >>include/autoconf.h <<'EOF'
#ifdef _WIN32
#include <stdint.h>
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#undef interface
#endif
EOF
	# winsock's char * socket options etc.: keep only the errors that
	# matter for 64-bit correctness
	w='-Werror=implicit-function-declaration -Werror=int-conversion -Werror=implicit-int'
	for d in util/support util/et util/profile include lib/crypto lib/krb5; do
		make -C "$d" -j"$JOBS" WARN_CFLAGS="$w"
	done
	for lib in krb5 k5crypto com_err krb5support; do
		install -m644 "lib/lib$lib.a" "$PREFIX/lib/"
	done
	install -d "$PREFIX/include/krb5"
	install -m644 include/krb5.h include/win-mac.h include/profile.h \
		util/et/com_err.h "$PREFIX/include/"
	install -m644 include/krb5/krb5.h include/krb5/*_plugin.h \
		include/krb5/plugin.h "$PREFIX/include/krb5/"
	cat >"$PREFIX/lib/pkgconfig/krb5.pc" <<EOF
prefix=$PREFIX
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: krb5
Description: MIT Kerberos (static, mingw-w64)
Version: $(awk '$2 ~ /^KRB5_(MAJOR|MINOR)_RELEASE$|^KRB5_PATCHLEVEL$/ {
	v = v (v == "" ? "" : ".") $3 } END { print v }' patchlevel.h)
Cflags: -I\${includedir}
Libs: -L\${libdir} -lkrb5 -lk5crypto -lcom_err
Libs.private: -lkrb5support -lws2_32 -lsecur32 -ladvapi32 -lshell32 -lole32
EOF
}

# Build PKG at VERSION unless its stamp already says so.
build_pkg() {
	local pkg=$1 ver=$2 stamp want t0 log
	want="$ver $(declare -f "recipe_$pkg" | sha256sum | cut -c1-16)"
	stamp=$STAMPS/$pkg
	if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
		printf '%-12s %-26s up to date\n' "$pkg" "$ver"
		return 0
	fi
	t0=$SECONDS
	rm -f "$stamp" "$STAMPS/smoke"
	log=$SRC/$pkg/build.log
	mkdir -p "$SRC/$pkg"
	# a subshell outside any condition, so that set -e stops at the
	# first failing command of the recipe
	( fetch_unpack "$pkg" "$ver"; "recipe_$pkg" ) >"$log" 2>&1 &
	if ! wait $!; then
		tail -n 30 "$log" >&2
		die "$pkg $ver: build FAILED (log: $log)"
	fi
	echo "$want" >"$stamp"
	printf '%-12s %-26s built in %d s\n' "$pkg" "$ver" $((SECONDS - t0))
}

# ------------------------------------------------------------- smoke check

smoke_c() {
	cat <<'EOF'
#include <stdio.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <sodium.h>
#include <db.h>

int main(void)
{
	DB *db = NULL;
	DBT k, v;
	int rc;

	if (gnutls_global_init() < 0 || !gnutls_check_version("3.7.0"))
		return printf("gnutls FAILED\n"), 1;
	if (sodium_init() < 0)
		return printf("libsodium FAILED\n"), 2;
	if (db_create(&db, NULL, 0) != 0 ||
	    db->open(db, NULL, NULL, NULL, DB_BTREE, DB_CREATE, 0600) != 0)
		return printf("db5.3 FAILED (open)\n"), 3;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = "key"; k.size = 4;
	v.data = "value"; v.size = 6;
	if (db->put(db, NULL, &k, &v, 0) != 0)
		return printf("db5.3 FAILED (put)\n"), 3;
	memset(&v, 0, sizeof(v));
	rc = db->get(db, NULL, &k, &v, 0);
	if (rc != 0 || v.size != 6 || strcmp(v.data, "value") != 0)
		return printf("db5.3 FAILED (get)\n"), 3;
	db->close(db, 0);
	printf("ok gnutls %s, libsodium %s, %s\n", gnutls_check_version(NULL),
	       sodium_version_string(), db_version(NULL, NULL, NULL));
	gnutls_global_deinit();
	return 0;
}
EOF
}

# The flags a consumer uses; printed at the end and used by the smoke check.
consumer_env() {
	echo "PKG_CONFIG_LIBDIR=$PREFIX/lib/pkgconfig"
	echo "BDB_CPPFLAGS=-I$PREFIX/include"
	echo "BDB_LDFLAGS=-L$PREFIX/lib"
	echo "BDB_LIBS=-l$(bdb_libname)"
}

# The name to pass to -l for BerkeleyDB (its build installs libdb-5.3.a).
bdb_libname() {
	local a
	for a in "$PREFIX"/lib/libdb-5*.a "$PREFIX"/lib/libdb.a; do
		[ -f "$a" ] && break
	done
	a=${a##*/lib}
	echo "${a%.a}"
}

smoke() {
	local want dir=$CACHE/smoke t0=$SECONDS cflags libs wine rc
	want=$(cat "$STAMPS"/* 2>/dev/null | grep -v '^smoke ' | sha256sum |
		cut -c1-16)
	want="smoke $want $( (declare -f smoke smoke_c) | sha256sum | cut -c1-16)"
	if [ "$(cat "$STAMPS/smoke" 2>/dev/null)" = "$want" ]; then
		printf '%-12s %-26s up to date\n' smoke "-"
		return 0
	fi
	mkdir -p "$dir"
	smoke_c >"$dir/x.c"
	cflags=$(PKG_CONFIG_LIBDIR=$PREFIX/lib/pkgconfig pkg-config --static \
		--cflags gnutls libsodium)
	libs=$(PKG_CONFIG_LIBDIR=$PREFIX/lib/pkgconfig pkg-config --static \
		--libs gnutls libsodium)
	# shellcheck disable=SC2086
	$HOST-gcc -static -O1 -o "$dir/x.exe" "$dir/x.c" $cflags \
		-I"$PREFIX/include" $libs -L"$PREFIX/lib" -l"$(bdb_libname)" \
		>"$dir/link.log" 2>&1 || {
		cat "$dir/link.log" >&2
		die "smoke: compile/link FAILED"
	}
	# Debian's wine64 package keeps its loader out of PATH
	wine=$(command -v wine64 || echo /usr/lib/wine/wine64)
	export WINEPREFIX=$CACHE/wine WINEDEBUG=-all
	if [ ! -d "$WINEPREFIX" ]; then
		wineboot -i >/dev/null 2>&1 || die "smoke: wineboot -i FAILED"
	fi
	(cd "$dir" && "$wine" ./x.exe) >"$dir/run.log" 2>&1 || rc=$?
	wineserver -k 2>/dev/null || true	# only this prefix's server
	if [ "${rc:-0}" != 0 ]; then
		cat "$dir/run.log" >&2
		die "smoke: x.exe FAILED under wine64 (exit $rc)"
	fi
	grep '^ok' "$dir/run.log" | tr -d '\r'
	echo "$want" >"$STAMPS/smoke"
	printf '%-12s %-26s passed in %d s\n' smoke "-" $((SECONDS - t0))
}

# ------------------------------------------------------------------- main

main() {
	local t0=$SECONDS pkg ver
	declare -A best=() version=()
	[ "$(id -u)" = 0 ] || die "run as root (installs packages)"
	ensure_tools
	ensure_deb_src
	mkdir -p "$PREFIX" "$SRC" "$STAMPS"
	while read -r pkg ver; do
		version[$pkg]=$ver
	done < <(source_versions)
	export PKG_CONFIG=pkg-config PKG_CONFIG_PATH=
	export PKG_CONFIG_LIBDIR=$PREFIX/lib/pkgconfig
	export CPPFLAGS="-I$PREFIX/include" LDFLAGS="-L$PREFIX/lib"
	export CC_FOR_BUILD=gcc
	for pkg in "${PACKAGES[@]}"; do
		[ -n "${version[$pkg]:-}" ] || die "$pkg: no source package known " \
			"to apt (deb-src entry? apt-get update?)"
		build_pkg "$pkg" "${version[$pkg]}"
	done
	smoke
	echo "total $((SECONDS - t0)) s; consumer environment:"
	consumer_env | sed 's/^/  /'
}

main "$@"; exit
