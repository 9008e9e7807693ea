#!/bin/sh
# Write seed inputs for fuzz_codec: valid 388-byte struct tlspool_command
# messages (little-endian, as on x86-64), plus one two-message stream.
#
#   sh make_seeds.sh [OUTDIR]      (default: corpus/codec beside this file)
#
# The committed corpus was made with this script; run it again after a
# change to the wire format.
set -eu

out=${1:-$(dirname "$0")/corpus/codec}
mkdir -p "$out"

MSGLEN=388

# Raw bytes given as decimal numbers.
bytes() {
	for b in "$@"; do
		# shellcheck disable=SC2059
		printf "\\$(printf '%03o' "$b")"
	done
}
u8() { bytes $(($1 & 255)); }
u16() { bytes $(($1 & 255)) $(($1 >> 8 & 255)); }
u32() { bytes $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
zeros() { if [ "$1" -gt 0 ]; then head -c "$1" /dev/zero; fi; }
# A string in a field of $2 bytes, NUL padded.
str() { printf '%s' "$1"; zeros $(($2 - ${#1})); }
# Sixteen bytes of a fixed test ctlkey.
ctlkey() { bytes 1 35 69 103 137 171 205 239 254 220 186 152 118 84 50 16; }

# header REQID CBID CMD
header() { u16 "$1"; u16 "$2"; u32 "$3"; }

# finish FILE: pad the message body to MSGLEN and check the size.
finish() {
	size=$(wc -c <"$1")
	if [ "$size" -gt "$MSGLEN" ]; then
		echo "make_seeds: $1 has $size bytes" >&2
		exit 1
	fi
	zeros $((MSGLEN - size)) >>"$1"
}

msg_ping() {
	header 1 0 16
	str "20151111api@tlspool.arpa2.net" 136
	u32 1
}

msg_starttls() { # CMD FLAGS
	header 2 0 "$1"
	u32 "$2"			# flags
	u32 0				# local
	u8 6; u8 0			# ipproto (TCP), padding
	u16 0				# streamid
	str "user@example.com" 128	# localid
	str "www.example.com" 128	# remoteid
	ctlkey
	str "http" 16			# service
	u32 30000			# timeout, ms
}

msg_prng() {
	header 3 0 43
	u16 10				# in1_len: label
	u16 65535			# in2_len = -1: no context
	u16 32				# prng_len
	ctlkey
	printf '%s' "EXPORTER-x"
}

msg_prng_edge() {
	header 4 0 43
	u16 300				# 16 + 300 + 34 == 350
	u16 34
	u16 350
	ctlkey
	i=0
	while [ $i -lt 334 ]; do printf 'L'; i=$((i + 1)); done
}

msg_info() {
	header 5 0 44
	ctlkey
	u32 1384120320			# PEERCERT_SUBJECT 0x52800000
	u16 65535			# query
}

msg_error() {
	header 6 0 1
	u32 13
	str "no rule for @.example.com" 128
}

msg_control() { # CMD
	header 7 0 "$1"
	u32 0
	ctlkey
	str "" 128
}

msg_lidentry() { # CMD
	header 8 9 "$1"
	u32 129				# SKIP_USER
	u16 10				# maxlevels
	u32 5000			# timeout
	str "user@example.com" 128
	str "peer@example.org" 128
}

msg_pinentry() {
	header 9 10 41
	u32 0; u32 1; u32 30000000
	str "" 128
	str "PIN for token pool:" 128
	str "SoftHSM project" 36
	str "SoftHSM v2" 20
	str "0123456789abcdef" 20
	str "pool" 36
}

write() { # NAME COMMAND...
	name=$1
	shift
	"$@" >"$out/$name"
	finish "$out/$name"
}

write ping msg_ping
write starttls msg_starttls 36 9
write starttls_localid msg_starttls 40 65545
write plaintext_connect msg_starttls 42 9
write prng msg_prng
write prng_edge msg_prng_edge
write info msg_info
write error msg_error
write control_detach msg_control 256
write lidentry_register msg_lidentry 512
write lidentry_callback msg_lidentry 513
write pinentry msg_pinentry
cat "$out/ping" "$out/starttls" >"$out/stream_ping_starttls"
