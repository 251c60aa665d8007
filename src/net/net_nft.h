/* The nftables tables smartvm owns per bridge (family ip and bridge, both
 * `smartvm_<bridge>`): NAT, published ports, the gateway's input, egress
 * policy, anti-spoofing and VM isolation (net_nft.c), and the per-VM
 * elements of their sets (net_nft_vm.c). The tables go through
 * libnftables, in-process (net_nft_lib.c); the elements, and the lookup of
 * a table, as nf_tables netlink messages (net_nft_elems.c). */
#ifndef SV_NET_NET_NFT_H
#define SV_NET_NET_NFT_H

#include "net/net_addr.h"
#include <jansson.h>
#include <stdbool.h>

/* "smartvm_<bridge>": one name per bridge name, never shared (bridge names
 * are interface names: at most 15 bytes of [A-Za-z0-9_.-]). */
void sv_nft_table_name(char out[32], const char *bridge);
/* The same, refusing (SV_EINVAL) a bridge that is not an interface name. */
int sv_nft_table_for(char table[32], const char *bridge);

/* The JSON document that creates the tables for plan, or brings existing
 * ones to it (chains flushed and refilled, sets and their elements kept),
 * with masquerade out of outbound ("" = any interface but the bridge).
 * malloc'd. */
int sv_nft_build_table(char **out, const sv_net_plan *plan, const char *outbound);

/* Applies a document from sv_nft_build_table atomically (one nft
 * transaction). */
int sv_nft_apply(const char *bridge, const char *doc);

/* Deletes both tables; success when they do not exist. *any_left (may be
 * NULL) then says whether any table of smartvm's (any bridge) is left. */
int sv_nft_delete(const char *bridge, bool *any_left);

/* Whether the bridge's ip table exists (one netlink lookup). */
int sv_nft_exists(const char *bridge, bool *exists);

/* Runs one document as one nftables transaction; what prefixes the error. */
int sv_nft_run(const char *doc, const char *what);

/* JSON pieces shared by the builders. Each returns a new reference. */
json_t *sv_nft_table_obj(const char *family, const char *table);
json_t *sv_nft_match(json_t *left, const char *op, json_t *right);
json_t *sv_nft_meta(const char *key);
json_t *sv_nft_payload(const char *proto, const char *field);

#endif
