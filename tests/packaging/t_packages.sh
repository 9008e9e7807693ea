#!/bin/bash
# t_packages.sh -- the Debian packages, end to end, on this machine:
#   1. dpkg-buildpackage -us -uc -b on a copy of the tree; lintian on the
#      .changes must report no error;
#   2. apt-get install of the built .debs (system user, conffile, units);
#   3. the daemon started as tlspool.socket + tlspool.service would start
#      it (values read from the installed units: systemd-socket-activate
#      holds the socket, the daemon runs as the unit's User= on the first
#      connection), a pooled connection through it to a local gnutls-serv
#      as an unprivileged member of group tlspool (a user outside the
#      group is refused), a client built against libtlspool-dev;
#      shaft -t as nobody (and a readable signing key refused);
#      pulley -t as tlspool on the installed /etc/pulley.conf (the pool
#      backend and /etc/pulley/pool.ps), on a script for the null
#      backend and on a plugin built against pulley-dev (a backend that
#      does not exist is refused); pulley.service hardened like
#      tlspool.service and not enabled; tlspool-schema's files;
#      crank installed first on its own (no daemon, no user tlspool):
#      crank check and keygen as an unprivileged user on a small source
#      with a certificate, its key and an anchor (a contradiction is
#      refused);
#   4. apt-get purge, then nothing is left: packages, files, the user and
#      group, /var/lib/tlspool, /run/tlspool, systemd enablement state.
#
# It changes the machine (packages, users): run it as root on a build or
# test machine where tlspool-daemon is not installed.  Not part of
# scripts/test.sh (see tests/packaging/README).
#
# Environment: DEBS=DIR reuses the .debs and .changes in DIR instead of
# building; KEEP_TMP=1 keeps the work dir.
set -u
set -o pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
NAME=t_packages
PKGS=(tlspool-daemon libtlspool0 libtlspool-dev pulley pulley-dev tlspool-schema
	crank shaft)
TESTUSER=tp-pkgtest
W=
SERV_PID=
ACT_PID=
INSTALLED=0
MADE_USER=0

say() { echo "--- $*"; }

fail() {
	echo "FAIL: $NAME: $*" >&2
	for f in "$W"/daemon.log "$W"/serv.log; do
		[ -s "$f" ] || continue
		echo "----- tail of $(basename "$f") -----" >&2
		tail -15 "$f" >&2
	done
	exit 1
}

now() { date +%s; }

stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_pid "$ACT_PID"
	stop_pid "$SERV_PID"
	if [ "$INSTALLED" = 1 ]; then
		# only those present: apt-get refuses the whole list when one
		# of them is unknown (crank is installed before the others)
		local p present=()
		for p in "${PKGS[@]}"; do
			pkg_present "$p" && present+=("$p")
		done
		[ ${#present[@]} -eq 0 ] ||
			DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq \
				"${present[@]}" >/dev/null 2>&1
		rm -f /run/tlspool.sock
	fi
	[ "$MADE_USER" = 1 ] && deluser --quiet "$TESTUSER" >/dev/null 2>&1
	if [ -n "$W" ]; then
		if [ "${KEEP_TMP:-0}" = 1 ] || [ "$rc" -ne 0 ]; then
			echo "note: work dir kept: $W" >&2
		else
			rm -rf "$W"
		fi
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for SECONDS CMD...: until CMD succeeds.
wait_for() {
	local end=$(($(now) + $1))
	shift
	until "$@"; do
		[ "$(now)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# unitval FILE KEY: the value of KEY= in a unit file (one line).
unitval() {
	sed -n "s/^$2=//p" "$1" | tail -1
}

# ---- preconditions -------------------------------------------------------
[ "$(id -u)" = 0 ] || fail "needs root (installs and purges packages)"
# pkg_present PKG: installed, or its conffiles left
pkg_present() {
	local st
	st=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
	[ "${st##* }" != not-installed ]
}
for p in "${PKGS[@]}"; do
	pkg_present "$p" && fail "$p is installed already; this test would replace it"
done
getent passwd tlspool >/dev/null && fail "a user tlspool exists already"
getent passwd "$TESTUSER" >/dev/null && fail "a user $TESTUSER exists already"
# installation overwrites these (dpkg replaces files no package owns,
# e.g. from "make install") and purge removes them: never someone else's
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null) ||
	fail "dpkg-architecture is missing (dpkg-dev)"
OWN=(/run/tlspool.sock /run/tlspool /var/lib/tlspool /etc/tlspool.conf
	/etc/pulley.conf /etc/pulley /usr/sbin/tlspool-daemon
	/usr/sbin/tlspool-ctl /usr/bin/tlstunnel /usr/bin/pulley /usr/bin/crank
	/usr/bin/shaft
	/usr/include/tlspool /usr/include/pulleyback.h /usr/share/tlspool
	"/usr/lib/$MA/tlspool" "/usr/lib/$MA/libtlspool.so"
	"/usr/lib/$MA/pkgconfig/tlspool.pc"
	/lib/systemd/system/tlspool.socket /lib/systemd/system/tlspool.service
	/lib/systemd/system/pulley.service)
for f in "${OWN[@]}"; do
	{ [ -e "$f" ] || [ -L "$f" ]; } &&
		fail "$f exists already; the packages would replace it"
done
# scan: what of ours exists (compared before installation and after purge)
scan() {
	find /etc /usr/lib /lib /usr/include /usr/share/doc /usr/share/man \
		/var/lib/systemd /var/lib/dpkg/info \( -name '*tlspool*' -o \
		-name '*pulley*' -o -name '*crank*' -o -name '*shaft*' \) 2>/dev/null | sort
}
for c in dpkg-buildpackage lintian systemd-socket-activate setpriv runuser \
	gnutls-serv certtool openssl cc pkg-config; do
	command -v "$c" >/dev/null || fail "$c is missing (scripts/deps.sh)"
done

W=$(mktemp -d /tmp/tp-packages.XXXXXX) || exit 1
chmod 0755 "$W"
scan >"$W/before.lst"
T0=$(now)

# ---- 1. build and lintian -----------------------------------------------
if [ -n "${DEBS:-}" ]; then
	say "using the packages in $DEBS"
	cp "$DEBS"/*.deb "$DEBS"/*.changes "$DEBS"/*.buildinfo "$W"/ ||
		fail "no packages in $DEBS"
else
	say "dpkg-buildpackage -us -uc -b on a copy of the tree"
	mkdir "$W/src"
	if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
		(cd "$TOP" && git ls-files -co --exclude-standard | grep -v '^_build/' |
			tar -cf - -T -) | tar -xf - -C "$W/src"
	else
		tar -C "$TOP" --exclude=./_build --exclude=./debian/build -cf - . |
			tar -xf - -C "$W/src"
	fi || fail "cannot copy the tree"
	(cd "$W/src" && nice dpkg-buildpackage -us -uc -b) >"$W/build.log" 2>&1 ||
		fail "dpkg-buildpackage failed: $(grep -E 'error|Error' "$W/build.log" | tail -5)"
	grep -q "^# FAIL:  0$" "$W/build.log" ||
		fail "unit tests in the package build did not all pass"
fi
T1=$(now)
for p in "${PKGS[@]}"; do
	ls "$W/${p}"_*.deb >/dev/null 2>&1 || fail "no ${p} package was built"
done

say "lintian"
lintian --display-info "$W"/*.changes >"$W/lintian.log" 2>&1
grep -q "^E: " "$W/lintian.log" &&
	fail "lintian errors: $(grep "^E: " "$W/lintian.log")"
grep -E "^[WI]: " "$W/lintian.log" | sed 's/^/    lintian: /'
T2=$(now)

# ---- 2a. crank alone: an administrator's tool, no daemon -------------------
say "crank on its own: apt-get install ./crank_*.deb"
INSTALLED=1
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	"$(ls "$W"/crank_*.deb | head -1)" >"$W/install-crank.log" 2>&1 ||
	fail "apt-get install crank: $(tail -5 "$W/install-crank.log")"
for p in "${PKGS[@]}"; do
	[ "$p" = crank ] && continue
	pkg_present "$p" && fail "installing crank installed $p"
done
getent passwd tlspool >/dev/null && fail "installing crank made a user tlspool"
for f in /usr/bin/crank /usr/share/man/man1/crank.1.gz \
	/usr/share/doc/crank/crank.md.gz /usr/share/doc/crank/ldap-policy.md.gz; do
	[ -s "$f" ] || fail "$f is not installed"
done

say "crank check and keygen as nobody on a small source"
CK=$W/crank
mkdir -m 0755 "$CK" && chown nobody "$CK" || fail "cannot make $CK"
asnobody() { (cd "$CK" && runuser -u nobody -- "$@"); }
asnobody mkdir -p src stage/etc/tlspool/keys || fail "mkdir as nobody"
cat >"$CK/ca.tmpl" <<EOF
cn = "crank package test CA"
ca
cert_signing_key
expiration_days = 2
EOF
cat >"$CK/www.tmpl" <<EOF
cn = "www.example.com"
dns_name = "www.example.com"
tls_www_server
signing_key
expiration_days = 2
EOF
{
	asnobody certtool --generate-privkey --key-type ecdsa --outfile ca.key &&
	asnobody certtool --generate-self-signed --load-privkey ca.key \
		--template ca.tmpl --outfile src/ca.pem &&
	asnobody certtool --generate-privkey --key-type ecdsa \
		--outfile stage/etc/tlspool/keys/www.key &&
	asnobody certtool --generate-certificate \
		--load-privkey stage/etc/tlspool/keys/www.key \
		--load-ca-certificate src/ca.pem --load-ca-privkey ca.key \
		--template www.tmpl --outfile src/www.pem
} >"$CK/certtool.log" 2>&1 || fail "certtool: $(tail -3 "$CK/certtool.log")"
cat >"$CK/src/identities.crank" <<'EOF'
identity www.example.com x509 {
    chain www.pem
    key /etc/tlspool/keys/www.key
    role server
}
disclose . { none }
EOF
cat >"$CK/src/rules.crank" <<'EOF'
anchor ca.pem { peers servers }
policy @.example.com client {
    min-version TLS1.2
    valexp "IT&F&"
}
policy www.example.com server { client-auth optional }
EOF
asnobody crank check --records --key-root "$CK/stage" src >"$CK/check.log" 2>&1 ||
	fail "crank check as nobody: $(cat "$CK/check.log")"
grep -q "^src: fine: 5 records (1 localid, 1 disclose, 1 trust, 2 policy), 0 warnings$" \
	"$CK/check.log" || fail "crank check: $(cat "$CK/check.log")"
# the anchor's record is keyed by the SHA-256 of the CA's
# SubjectPublicKeyInfo (doc/policy-records.md)
spki=$(openssl x509 -in "$CK/src/ca.pem" -pubkey -noout |
	openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)
[ -n "$spki" ] && grep -q "^trust anchor:$spki .* from src/rules.crank:1:1$" "$CK/check.log" ||
	fail "crank check: no anchor record for sha256:$spki: $(cat "$CK/check.log")"
grep -q "^localid www.example.com x509 .* from src/identities.crank:1:1$" "$CK/check.log" ||
	fail "crank check: no localid record: $(cat "$CK/check.log")"
# without --key-root the key is read at its path on the hosts: not here
if asnobody crank check src >"$CK/nokey.log" 2>&1; then
	fail "crank check accepted a key it cannot read: $(cat "$CK/nokey.log")"
fi
grep -q "^src/identities.crank:3:9: error: /etc/tlspool/keys/www.key: " "$CK/nokey.log" ||
	fail "crank check, unreadable key: $(cat "$CK/nokey.log")"
# a contradiction: a second client policy for the same selector
asnobody cp -r src bad || fail "cp as nobody"
echo 'policy @.EXAMPLE.com client { max-version TLS1.1 }' >>"$CK/bad/rules.crank"
asnobody crank check --key-root "$CK/stage" bad >"$CK/bad.log" 2>&1
st=$?
[ "$st" = 1 ] || fail "crank check on a contradiction: exit $st: $(cat "$CK/bad.log")"
grep -q "^bad/rules.crank:7:1: error: .*already defined at bad/rules.crank:2:1$" \
	"$CK/bad.log" || fail "crank check, contradiction: $(cat "$CK/bad.log")"
asnobody crank keygen sign.key >"$CK/keygen.log" 2>&1 ||
	fail "crank keygen as nobody: $(cat "$CK/keygen.log")"
grep -qE "^[0-9a-f]{64}$" "$CK/keygen.log" ||
	fail "crank keygen printed no public key: $(cat "$CK/keygen.log")"
[ "$(stat -c '%U %a' "$CK/sign.key")" = "nobody 600" ] ||
	fail "crank keygen: $(stat -c '%U %a' "$CK/sign.key")"

# ---- 2. install ---------------------------------------------------------
say "apt-get install ./*.deb"
debs=()
for p in "${PKGS[@]}"; do
	debs+=("$(ls "$W/${p}"_*.deb | head -1)")
done
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	"${debs[@]}" >"$W/install.log" 2>&1 ||
	fail "apt-get install: $(tail -5 "$W/install.log")"

pw=$(getent passwd tlspool) || fail "no user tlspool after installation"
IFS=: read -r _ _ uid gid _ home shell <<<"$pw"
[ "$uid" -lt 1000 ] || fail "tlspool is not a system user (uid $uid)"
[ "$(getent group tlspool | cut -d: -f3)" = "$gid" ] ||
	fail "user tlspool's group is not tlspool"
[ "$home" = /var/lib/tlspool ] || fail "tlspool's home is $home"
case $shell in */nologin|*/false) ;; *) fail "tlspool has a login shell $shell" ;; esac
[ "$(stat -c '%U:%G %a' /var/lib/tlspool)" = "tlspool:tlspool 700" ] ||
	fail "/var/lib/tlspool: $(stat -c '%U:%G %a' /var/lib/tlspool)"
dpkg-query -W -f='${Conffiles}\n' tlspool-daemon | grep -q "^ /etc/tlspool.conf " ||
	fail "/etc/tlspool.conf is not a conffile"
for u in tlspool.socket tlspool.service; do
	[ -f "/lib/systemd/system/$u" ] || fail "$u is not installed"
done
[ -L /etc/systemd/system/sockets.target.wants/tlspool.socket ] ||
	fail "tlspool.socket is not enabled"
[ -e /etc/systemd/system/multi-user.target.wants/tlspool.service ] &&
	fail "tlspool.service is enabled (it should start from the socket)"
runuser -u tlspool -- tlspool-daemon -t -c /etc/tlspool.conf >"$W/check.log" 2>&1 ||
	fail "tlspool-daemon -t as tlspool: $(cat "$W/check.log")"
SERVU0=/lib/systemd/system/tlspool.service

# ---- 2b. pulley, pulley-dev, tlspool-schema -------------------------------
say "pulley: files, unit, pulley -t as tlspool"
for f in /usr/bin/pulley /etc/pulley.conf /etc/pulley/pool.ps \
	"/usr/lib/$MA/tlspool/pulleyback_pool.so" \
	"/usr/lib/$MA/tlspool/pulleyback_null.so" \
	/usr/share/man/man8/pulley.8.gz /lib/systemd/system/pulley.service \
	/usr/share/doc/pulley/examples/pulley.conf.sample \
	/usr/include/pulleyback.h /usr/share/tlspool/schema/tlspool.schema \
	/usr/share/tlspool/schema/tlspool.ldif; do
	[ -s "$f" ] || fail "$f is not installed"
done
for f in /etc/pulley.conf /etc/pulley/pool.ps; do
	dpkg-query -W -f='${Conffiles}\n' pulley | grep -q "^ $f " ||
		fail "$f is not a conffile"
done
grep -q "^objectclass.*tlsPoolValidationRequirements" \
	/usr/share/tlspool/schema/tlspool.schema ||
	fail "tlspool.schema lacks tlsPoolValidationRequirements"
grep -q "^dn: cn=tlspool,cn=schema,cn=config$" /usr/share/tlspool/schema/tlspool.ldif ||
	fail "tlspool.ldif is not a cn=config schema entry"
PULU=/lib/systemd/system/pulley.service
[ "$(unitval "$PULU" User)" = tlspool ] && [ "$(unitval "$PULU" Group)" = tlspool ] ||
	fail "pulley.service does not run as tlspool"
[ "$(unitval "$PULU" ExecStart)" = "/usr/bin/pulley -c /etc/pulley.conf" ] ||
	fail "pulley.service ExecStart=$(unitval "$PULU" ExecStart)"
grep -q "^RuntimeDirectory=" "$PULU" &&
	fail "pulley.service has a RuntimeDirectory (stopping it would remove tlspool's)"
# the sandboxing lines of both units: the same
harden() {
	grep -E '^(NoNewPrivileges|CapabilityBoundingSet|AmbientCapabilities|Protect|Private|Restrict|LockPersonality|MemoryDenyWriteExecute|SystemCall|UMask|StateDirectory)' "$1"
}
[ "$(harden "$SERVU0")" = "$(harden "$PULU")" ] ||
	fail "pulley.service hardening differs: $(diff <(harden "$SERVU0") <(harden "$PULU") | tr '\n' ' ')"
[ "$(harden "$PULU" | wc -l)" -ge 20 ] || fail "pulley.service: no hardening"
for d in /etc/systemd/system/*.wants; do
	[ -e "$d/pulley.service" ] && fail "pulley.service is enabled ($d)"
done

# the installed configuration: pool backend, /etc/pulley/pool.ps
runuser -u tlspool -- pulley -t >"$W/pulley-t.log" 2>&1 ||
	fail "pulley -t as tlspool: $(cat "$W/pulley-t.log")"
grep -q "^pulley: /etc/pulley.conf and /etc/pulley/pool.ps are valid$" \
	"$W/pulley-t.log" || fail "pulley -t: $(cat "$W/pulley-t.log")"

# the null backend
mkdir -m 0755 "$W/pulley" "$W/plugins"
printf '%s\n%s\n' \
	'ObjectClass: "tlsPoolIdentityDisclosure" + tlsPoolSelector: sel + tlsPoolPolicyRecord: rec <- world' \
	'sel, rec -> null (label="pkgtest")' >"$W/pulley/null.ps"
mkconf() {
	grep -v '^script ' /etc/pulley.conf
	echo "script $W/pulley/$1.ps"
	[ -z "${2:-}" ] || echo "backend_dir $2"
}
mkconf null >"$W/pulley/null.conf"
runuser -u tlspool -- pulley -t -c "$W/pulley/null.conf" >"$W/pulley-null.log" 2>&1 ||
	fail "pulley -t, null backend: $(cat "$W/pulley-null.log")"
grep -q "and $W/pulley/null.ps are valid$" "$W/pulley-null.log" ||
	fail "pulley -t, null backend: $(cat "$W/pulley-null.log")"

say "pulley-dev: a pulleyback plugin built with pulleyback.h"
cat >"$W/plugins/counter.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <pulleyback.h>

static int handle;

void *pulleyback_open(int argc, char **argv, int varc)
{
	printf("counter: open argc=%d varc=%d %s\n", argc, varc,
	       argc > 1 ? argv[1] : "-");
	fflush(stdout);
	return argc == 2 && strcmp(argv[1], "mode=count") == 0 ? &handle : NULL;
}
void pulleyback_close(void *pbh) { (void)pbh; }
int pulleyback_add(void *pbh, uint8_t **fd) { (void)pbh; (void)fd; return 1; }
int pulleyback_del(void *pbh, uint8_t **fd) { (void)pbh; (void)fd; return 1; }
int pulleyback_reset(void *pbh) { (void)pbh; return 1; }
int pulleyback_prepare(void *pbh) { (void)pbh; return 1; }
int pulleyback_commit(void *pbh) { (void)pbh; return 1; }
void pulleyback_rollback(void *pbh) { (void)pbh; }
int pulleyback_collaborate(void *a, void *b) { (void)a; (void)b; return 0; }
EOF
cc -Wall -Wextra -Werror -shared -fPIC -o "$W/plugins/pulleyback_counter.so" \
	"$W/plugins/counter.c" >"$W/plugin-cc.log" 2>&1 ||
	fail "cannot build a plugin with pulleyback.h: $(cat "$W/plugin-cc.log")"
sed 's|-> null (label="pkgtest")|-> counter (mode="count")|' "$W/pulley/null.ps" \
	>"$W/pulley/counter.ps"
mkconf counter "$W/plugins" >"$W/pulley/counter.conf"
runuser -u tlspool -- pulley -t -c "$W/pulley/counter.conf" >"$W/pulley-counter.log" 2>&1 ||
	fail "pulley -t, pulley-dev plugin: $(cat "$W/pulley-counter.log")"
grep -q "^counter: open argc=2 varc=2 mode=count$" "$W/pulley-counter.log" ||
	fail "the pulley-dev plugin was not opened: $(cat "$W/pulley-counter.log")"

say "pulley -t refuses a backend that is not there"
sed 's|-> null (label="pkgtest")|-> nosuch (label="pkgtest")|' "$W/pulley/null.ps" >"$W/pulley/nosuch.ps"
mkconf nosuch >"$W/pulley/nosuch.conf"
if runuser -u tlspool -- pulley -t -c "$W/pulley/nosuch.conf" >"$W/pulley-nosuch.log" 2>&1; then
	fail "pulley -t accepted a missing backend: $(cat "$W/pulley-nosuch.log")"
fi
grep -q "pulleyback_nosuch" "$W/pulley-nosuch.log" ||
	fail "pulley -t, missing backend: $(cat "$W/pulley-nosuch.log")"

# ---- 2c. shaft ------------------------------------------------------------
say "shaft: files, shaft -t as nobody on a small configuration"
for f in /usr/bin/shaft /usr/share/man/man8/shaft.8.gz /usr/share/doc/shaft/shaft.md.gz; do
	[ -e "$f" ] || fail "shaft did not install $f"
done
SH=$W/shaft
mkdir -p "$SH/state"
head -c 32 /dev/urandom >"$SH/sign.key"
chmod 600 "$SH/sign.key"
printf '%s\n' "ldap_uri ldap://127.0.0.1:1/" "tls none" "bind none" \
	"source a 10 $(printf 'ab%.0s' $(seq 32)) ou=a,dc=example,dc=com" \
	"output_base ou=policy,dc=example,dc=com" "sign_key $SH/sign.key" \
	"state_dir $SH/state" >"$SH/shaft.conf"
chown -R nobody "$SH"
runuser -u nobody -- shaft -t -c "$SH/shaft.conf" >"$SH/t.log" 2>&1 ||
	fail "shaft -t as nobody: $(cat "$SH/t.log")"
grep -q "1 sources, output ou=policy,dc=example,dc=com" "$SH/t.log" ||
	fail "shaft -t: $(cat "$SH/t.log")"
chmod 644 "$SH/sign.key"
runuser -u nobody -- shaft -t -c "$SH/shaft.conf" >"$SH/t2.log" 2>&1 &&
	fail "shaft -t accepted a signing key others may read"

# ---- 3. the daemon as its units start it ----------------------------------
SOCKU=/lib/systemd/system/tlspool.socket
SERVU=$SERVU0
LISTEN=$(unitval "$SOCKU" ListenStream)
SGROUP=$(unitval "$SOCKU" SocketGroup)
SMODE=$(unitval "$SOCKU" SocketMode)
RUSER=$(unitval "$SERVU" User)
RGROUP=$(unitval "$SERVU" Group)
RTDIR=$(unitval "$SERVU" RuntimeDirectory)
RTMODE=$(unitval "$SERVU" RuntimeDirectoryMode)
UMASK=$(unitval "$SERVU" UMask)
read -r -a EXEC <<<"$(unitval "$SERVU" ExecStart)"
[ -n "$LISTEN" ] && [ -n "$RUSER" ] && [ ${#EXEC[@]} -gt 0 ] ||
	fail "cannot read the units"
grep -q "^NoNewPrivileges=yes" "$SERVU" || fail "tlspool.service lacks NoNewPrivileges"

say "socket $LISTEN ($SGROUP, $SMODE); ${EXEC[*]} as $RUSER on the first connection"
install -d -o "$RUSER" -g "$RGROUP" -m "$RTMODE" "/run/$RTDIR"
(
	umask "$UMASK"
	exec systemd-socket-activate -l "$LISTEN" -- setpriv --reuid="$RUSER" \
		--regid="$RGROUP" --init-groups --no-new-privs -- "${EXEC[@]}"
) >"$W/daemon.log" 2>&1 &
ACT_PID=$!
wait_for 10 test -S "$LISTEN" || fail "no socket $LISTEN"
chgrp "$SGROUP" "$LISTEN" && chmod "$SMODE" "$LISTEN" || fail "socket ownership"

say "a CA, gnutls-serv --echo for localhost"
mkdir -m 0755 "$W/pki"
cat >"$W/pki/ca.tmpl" <<EOF
cn = "TLS Pool package test CA"
ca
cert_signing_key
expiration_days = 2
EOF
cat >"$W/pki/srv.tmpl" <<EOF
cn = "localhost"
dns_name = "localhost"
tls_www_server
signing_key
expiration_days = 2
EOF
(cd "$W/pki" &&
	certtool --generate-privkey --key-type ecdsa --outfile ca.key &&
	certtool --generate-self-signed --load-privkey ca.key --template ca.tmpl \
		--outfile ca.pem &&
	certtool --generate-privkey --key-type ecdsa --outfile srv.key &&
	certtool --generate-certificate --load-privkey srv.key \
		--load-ca-certificate ca.pem --load-ca-privkey ca.key \
		--template srv.tmpl --outfile srv.pem) >"$W/pki/certtool.log" 2>&1 ||
	fail "certtool: $(tail -3 "$W/pki/certtool.log")"
chmod 0644 "$W/pki/ca.pem"
for try in 1 2 3 4 5; do
	PORT=$((20000 + RANDOM % 40000))
	gnutls-serv --echo -a -p "$PORT" --x509certfile "$W/pki/srv.pem" \
		--x509keyfile "$W/pki/srv.key" >"$W/serv.log" 2>&1 &
	SERV_PID=$!
	wait_for 5 grep -q "listening on IPv4" "$W/serv.log"
	sleep 0.2
	kill -0 "$SERV_PID" 2>/dev/null && break
	SERV_PID=
done
[ -n "$SERV_PID" ] || fail "gnutls-serv does not start: $(tail -3 "$W/serv.log")"

say "the test CA as a trust anchor, by tlspool-ctl as the daemon's user"
runuser -u tlspool -- tlspool-ctl -c /etc/tlspool.conf trust add-anchor \
	"$W/pki/ca.pem" --peers servers >"$W/ctl.log" 2>&1 ||
	fail "tlspool-ctl trust add-anchor: $(cat "$W/ctl.log")"

say "a user outside group tlspool is refused"
unset TLSPOOL_SOCKET XDG_RUNTIME_DIR
if runuser -u nobody -- tlspool-ping >"$W/ping-nobody.log" 2>&1; then
	fail "nobody reached the pool: $(cat "$W/ping-nobody.log")"
fi
grep -q "Permission denied" "$W/ping-nobody.log" ||
	fail "nobody: $(cat "$W/ping-nobody.log")"
grep -q "Execing" "$W/daemon.log" && fail "a refused connection started the daemon"

say "a member of group tlspool: PING starts the daemon"
adduser --system --quiet --no-create-home "$TESTUSER" >/dev/null ||
	fail "cannot add $TESTUSER"
MADE_USER=1
adduser --quiet "$TESTUSER" tlspool >/dev/null || fail "cannot add $TESTUSER to tlspool"
runuser -u "$TESTUSER" -- timeout 20 tlspool-ping >"$W/ping.log" 2>&1 ||
	fail "tlspool-ping as $TESTUSER: $(cat "$W/ping.log")"
grep -q "facilities:.*STARTTLS" "$W/ping.log" || fail "PING: $(cat "$W/ping.log")"
grep -q "socket passed by the service manager" "$W/daemon.log" ||
	fail "the daemon did not take the passed socket"
[ "$(ps -o user= -p "$ACT_PID")" = tlspool ] ||
	fail "the daemon runs as $(ps -o user= -p "$ACT_PID")"
KP=$(ps -o pid= --ppid "$ACT_PID" | head -1 | tr -d ' ')
[ -n "$KP" ] && [ "$(ps -o user= -p "$KP")" = tlspool ] ||
	fail "the key process does not run as tlspool"
[ "$(cat "/run/$RTDIR/tlspool.pid" 2>/dev/null)" = "$ACT_PID" ] ||
	fail "no pid file in /run/$RTDIR"

say "a pooled connection: tlstunnel as $TESTUSER to gnutls-serv"
printf 'through the pool\n' |
	runuser -u "$TESTUSER" -- timeout 20 tlstunnel -c --stdio -r localhost \
		"127.0.0.1:$PORT" >"$W/tunnel.out" 2>"$W/tunnel.log"
grep -q "^through the pool$" "$W/tunnel.out" ||
	fail "nothing echoed: $(cat "$W/tunnel.log")"
grep -q "connected local= remote=localhost" "$W/tunnel.log" ||
	fail "tlstunnel: $(cat "$W/tunnel.log")"

say "libtlspool-dev: a client built with pkg-config tlspool"
cat >"$W/client.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <tlspool/commands.h>
#include <tlspool/starttls.h>

int main(void)
{
	pingpool_t p;

	memset(&p, 0, sizeof(p));
	strcpy(p.YYYYMMDD_producer, TLSPOOL_IDENTITY_V2);
	if (tlspool_ping(&p) < 0) {
		perror("tlspool_ping");
		return 1;
	}
	/* the pid file named by /etc/tlspool.conf (daemon_pidfile) */
	printf("%d %s %s\n", tlspool_pid(NULL), tlspool_socket_path(),
	       p.YYYYMMDD_producer);
	return 0;
}
EOF
# shellcheck disable=SC2046
cc -o "$W/client" "$W/client.c" $(pkg-config --cflags --libs tlspool) \
	>"$W/cc.log" 2>&1 || fail "cannot build a client: $(cat "$W/cc.log")"
runuser -u "$TESTUSER" -- "$W/client" >"$W/client.out" 2>&1 ||
	fail "client: $(cat "$W/client.out")"
grep -q "^$ACT_PID /var/run/tlspool.sock 20" "$W/client.out" ||
	fail "client: $(cat "$W/client.out")"

say "SIGTERM stops the daemon; the socket stays with the service manager"
kill -TERM "$ACT_PID"
wait_for 15 sh -c "! kill -0 $ACT_PID 2>/dev/null" || fail "daemon does not stop"
wait "$ACT_PID"
st=$?
ACT_PID=
[ "$st" = 0 ] || fail "daemon exit status $st"
[ -S "$LISTEN" ] || fail "the daemon removed $LISTEN"
rm -f "$LISTEN"		# RemoveOnStop=yes
stop_pid "$SERV_PID"
SERV_PID=
deluser --quiet "$TESTUSER" >/dev/null 2>&1 || fail "cannot remove $TESTUSER"
MADE_USER=0
T3=$(now)

# ---- 4. purge -----------------------------------------------------------
say "apt-get purge"
DEBIAN_FRONTEND=noninteractive apt-get purge -y "${PKGS[@]}" \
	>"$W/purge.log" 2>&1 || fail "apt-get purge: $(tail -5 "$W/purge.log")"
INSTALLED=0
left=()
for p in "${PKGS[@]}"; do
	pkg_present "$p" && left+=("package $p")
done
getent passwd tlspool >/dev/null && left+=("user tlspool")
getent group tlspool >/dev/null && left+=("group tlspool")
for f in "${OWN[@]}" /usr/share/doc/tlspool-daemon /usr/share/doc/pulley \
	/usr/share/doc/crank; do
	{ [ -e "$f" ] || [ -L "$f" ]; } && left+=("$f")
done
while read -r f; do
	left+=("$f")
done < <(scan | comm -13 "$W/before.lst" -)
[ ${#left[@]} -eq 0 ] || fail "left after purge: ${left[*]}"
T4=$(now)

echo "times: build $((T1 - T0))s, lintian $((T2 - T1))s, install+run $((T3 - T2))s, purge $((T4 - T3))s, total $((T4 - T0))s"
echo "PASS: $NAME"
