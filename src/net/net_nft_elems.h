/* Set and map elements of smartvm's nftables tables sent to the kernel as
 * nf_tables netlink messages (libnftnl builds them, libmnl's socket carries
 * them), without libnftables: a VM's elements need no parser, no rule-set
 * cache and no JSON, only their keys and data as the kernel stores them. */
#ifndef SV_NET_NET_NFT_ELEMS_H
#define SV_NET_NET_NFT_ELEMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest key: ifname . ether_addr . ipv4_addr, each field padded to
 * 4 bytes as nftables pads concatenations: 16 + 8 + 4. */
#define SV_NFT_KEY_MAX 28

/* One element added to or deleted from one set of the table. */
typedef struct {
	bool add;
	bool bridge_family; /* the table of family bridge, else ip */
	const char *set;    /* a static name */
	uint8_t key[SV_NFT_KEY_MAX];
	uint8_t key_len;
	uint8_t data[4]; /* a map's data, on add */
	uint8_t data_len;
	char text[136]; /* as nft prints it, for errors */
} sv_nft_elem;

/* Sends elems to table (both families' tables are named alike) as one
 * transaction: all or none. A kernel refusal (SV_ENETWORK) names the element
 * and its set, prefixed with what. */
int sv_nft_elems_apply(const char *table, const sv_nft_elem *elems, size_t n, const char *what);

/* Whether the ip family's table exists. */
int sv_nft_elems_table_exists(const char *table, bool *exists);

#endif
