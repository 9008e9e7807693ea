/* dns_fixture -- DNS answer packets in wire form built from records in
 * text form, for the tests of the parsers of libunbound answers
 * (test_dane, test_gdir). */
#ifndef TP_DNS_FIXTURE_H
#define TP_DNS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

/* A response packet with the n answer records rrs (text form, as in a
 * zone file, TTL 300 when none is given); free() it.  A record that
 * does not parse fails the test. */
uint8_t *dnsf_packet(const char **rrs, size_t n, size_t *len);

#endif
