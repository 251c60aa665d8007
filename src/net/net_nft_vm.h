/* A VM's share of its bridge's nftables tables: elements of their sets and
 * maps (see net_nft.c), added and removed in one nf_tables transaction per
 * batch, sent as netlink messages (net_nft_elems.c), not through libnftables.
 * Removing adds each element first and then deletes it, so a batch removing
 * what is already gone succeeds; removing from tables that are gone is
 * success too. Callers decide whether an element is still theirs to remove
 * (an address may have been leased to another VM since): this file only
 * writes the elements: their keys and data laid out as the sets' types in
 * net_nft.c store them. */
#ifndef SV_NET_NET_NFT_VM_H
#define SV_NET_NET_NFT_VM_H

#include "net/net_nft_elems.h"
#include "net/net_ports.h"
#include <stdbool.h>
#include <stdint.h>

/* One VM interface on the bridge. */
typedef struct {
	char dev[16]; /* the bridge port (TAP) */
	char mac[18]; /* the guest's MAC */
	uint32_t ip;  /* the guest's address */
	bool open;    /* may talk to other VMs that are open too */
	bool dns;     /* may reach port 53 on the host */
} sv_nft_vm_iface;

typedef struct {
	sv_nft_elem *elems; /* in the order they are sent */
	size_t n, cap;
	int error; /* the first failure while adding (SV_ENOMEM, SV_EINVAL), reported by apply */
	char error_text[128];
	char bridge[16];
	char table[32];
} sv_nft_batch;

/* SV_EINVAL when bridge is not an interface name. */
int sv_nft_batch_init(sv_nft_batch *b, const char *bridge);
void sv_nft_batch_free(sv_nft_batch *b);

void sv_nft_batch_iface(sv_nft_batch *b, bool add, const sv_nft_vm_iface *f);
/* Only the elements keyed by the device (ports, addrs, open) and/or by the
 * address (vm_open, dns_ok). */
void sv_nft_batch_iface_parts(sv_nft_batch *b, bool add, const sv_nft_vm_iface *f, bool dev_parts,
			      bool ip_parts);
/* A VM address whose traffic must leave through WireGuard interface wg_if. */
void sv_nft_batch_wg(sv_nft_batch *b, bool add, uint32_t ip, const char *wg_if);
/* Only the parts keyed by the tunnel (wg_ifs, wg_routes), or only the
 * address (wg_vms). */
void sv_nft_batch_wg_name_parts(sv_nft_batch *b, bool add, uint32_t ip, const char *wg_if);
void sv_nft_batch_wg_ip(sv_nft_batch *b, bool add, uint32_t ip);
void sv_nft_batch_port(sv_nft_batch *b, bool add, const sv_port_pub *p);

/* Applies the batch (nothing to do: success). A removing batch succeeds
 * when the tables are gone. what prefixes errors. */
int sv_nft_batch_apply(sv_nft_batch *b, bool removing, const char *what);

/* The ledger's spelling of an interface's elements, "DEV,MAC,IP,FLAGS"
 * (FLAGS: "o" open, "d" dns, "-" none), and back. */
void sv_nft_vm_iface_format(const sv_nft_vm_iface *f, char out[64]);
bool sv_nft_vm_iface_parse(sv_nft_vm_iface *f, const char *text);

#endif
