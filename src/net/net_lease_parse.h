/* The lease file's parser (format in net_lease.c), apart from the locked
 * load that reads the file, so that its fuzz harness (fuzz/lease_file.c) can
 * call it. Internal. */
#ifndef SV_NET_NET_LEASE_PARSE_H
#define SV_NET_NET_LEASE_PARSE_H

#include "net/net_lease.h"

/* Parses a lease file's text (cut up in place) into db's subnet and leases;
 * db->lease_path names the file in messages. */
int sv_lease_db_parse(sv_lease_db *db, char *text);

#endif
