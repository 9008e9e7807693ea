/* crank_describe -- one line for people about an encoded policy record,
 * for `crank plan`: every field, so that a change shows in the text. */
#ifndef CRANK_DESCRIBE_H
#define CRANK_DESCRIBE_H

#include <stddef.h>
#include <stdint.h>

#include "policydb.h"

/* Describe val (len bytes) of database db into buf.  A record that does
 * not decode is described as "undecodable: REASON". */
void crank_describe(enum policydb_which db, const uint8_t *val, size_t len,
		    char *buf, size_t cap);

#endif
