/* The one nftables table smartvm owns per bridge: NAT for the VM subnet and
 * its egress policy. Applied and removed whole through `nft -j -f -`. */
#ifndef SV_NET_NET_NFT_H
#define SV_NET_NET_NFT_H

#include "net/net_addr.h"
#include <stdbool.h>

/* "smartvm_<bridge>", family ip: one table per bridge name, never shared
 * (bridge names are interface names: at most 15 bytes of [A-Za-z0-9_.-]). */
void sv_nft_table_name(char out[32], const char *bridge);

/* The JSON document that (re)creates the table for plan, with masquerade out
 * of outbound ("" = any interface but the bridge). malloc'd. */
int sv_nft_build_table(char **out, const sv_net_plan *plan, const char *outbound);

/* Applies a document from sv_nft_build_table atomically (one nft
 * transaction replaces the bridge's table). */
int sv_nft_apply(const char *bridge, const char *doc);

/* Deletes the table; success when it does not exist. */
int sv_nft_delete(const char *bridge);

int sv_nft_exists(const char *bridge, bool *exists);

/* Whether any table of smartvm's (any bridge) exists. */
int sv_nft_any_table(bool *any);

#endif
