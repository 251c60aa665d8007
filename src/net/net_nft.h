/* The one nftables table smartvm owns per bridge: NAT for the VM subnet and
 * its egress policy. Applied and removed whole through `nft -j -f -`. */
#ifndef SV_NET_NET_NFT_H
#define SV_NET_NET_NFT_H

#include "net/net_addr.h"
#include <stdbool.h>

/* "smartvm_<bridge>" with every byte outside [A-Za-z0-9_] as '_'; family ip. */
void sv_nft_table_name(char out[32], const char *bridge);

/* The JSON document that (re)creates the table for plan, with masquerade out
 * of outbound ("" = any interface but the bridge). malloc'd. */
int sv_nft_build_table(char **out, const sv_net_plan *plan, const char *outbound);

/* Applies the document atomically (one nft transaction replaces the table). */
int sv_nft_apply(const sv_net_plan *plan, const char *outbound);

/* Deletes the table; success when it does not exist. */
int sv_nft_delete(const char *bridge);

int sv_nft_exists(const char *bridge, bool *exists);

/* net.ipv4.ip_forward = 1 in the caller's network namespace. */
int sv_net_enable_forwarding(void);

#endif
