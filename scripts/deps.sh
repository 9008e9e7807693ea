#!/bin/bash
# Install the Debian 12 packages that building, the demo and the tests need.
set -euo pipefail
pkgs=(
	build-essential autoconf automake libtool pkg-config
	libgnutls28-dev gnutls-bin libkrb5-dev libldap2-dev libldns-dev
	libunbound-dev libevent-dev libsodium-dev libdb-dev libcmocka-dev
	libsasl2-dev clang libclang-rt-14-dev
	openssl stunnel4 socat softhsm2 p11-kit procps gdb
	slapd ldap-utils libsasl2-modules-gssapi-mit
	krb5-kdc krb5-admin-server krb5-user
	nsd ldnsutils
	debhelper lintian systemd
	chromium chromium-driver python3-selenium
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
