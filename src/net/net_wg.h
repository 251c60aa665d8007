/* A VM's WireGuard interface, behind one small interface with two backends:
 * the kernel's (a "wireguard" link, configured over generic netlink) and the
 * userspace wireguard-go (Debian package; a TUN device it serves, configured
 * over its UAPI socket /var/run/wireguard/<ifname>.sock). The kernel's is
 * tried first; a kernel without WireGuard (these machines') falls back to
 * wireguard-go. Neither ever runs `wg`, `wg-quick` or a shell.
 *
 * wireguard-go's sockets are not separated by network namespaces, so a name
 * must be unique on the whole host: names are picked (sv_wg_pick) under the
 * lease lock as the lowest svwgN that no link in this namespace, no socket in
 * /var/run/wireguard and no routing rule or route (its table) uses. Each
 * interface is marked with its VM's alias ("smartvm wg <vm_id>") right after
 * it is created and deleted only while it still carries that mark. */
#ifndef SV_NET_NET_WG_H
#define SV_NET_NET_WG_H

#include "net/net_wgconf.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SV_WG_PREFIX "svwg"
#define SV_WG_ALIAS_PREFIX "smartvm wg "
/* Table of svwgN: SV_WG_TABLE_BASE + N; the rule's priority. */
#define SV_WG_TABLE_BASE 0x736d0000u
#define SV_WG_RULE_PRIO 10000u
#define SV_WG_UAPI_DIR "/var/run/wireguard"

typedef struct {
	const char *name; /* "kernel", "wireguard-go" */
	/* Creates the link ifname, down. SV_EUNSUPPORTED when this backend
	 * cannot run on this host. */
	int (*create)(const char *ifname);
	/* Applies cfg's private key, listen port and peers (replacing any). */
	int (*configure)(const char *ifname, const sv_wg_config *cfg);
} sv_wg_backend;

extern const sv_wg_backend sv_wg_kernel_backend;
extern const sv_wg_backend sv_wg_userspace_backend;

/* The lowest free svwgN (see above) and its table. Call under the lease lock. */
int sv_wg_pick(char name[16], uint32_t *table);
/* N of "svwgN" (false when name is not one). */
bool sv_wg_name_number(const char *name, uint32_t *n);

/* "smartvm wg <vm_id>". */
void sv_wg_alias(char out[96], const char *vm_id);

/* Creates ifname with the first backend that works here, marks it with
 * alias, configures it, sets the MTU and the addresses and brings it up.
 * *used (may be NULL) names the backend. On failure what was made stays for
 * sv_wg_down (the caller recorded it in the ledger first). */
int sv_wg_up(const char *ifname, const char *alias, const sv_wg_config *cfg, const char **used);

/* Deletes ifname if it carries alias; the wireguard-go serving it exits (is
 * waited for, killed after a few seconds) and a socket it left behind is
 * removed. Success when it is gone already; SV_EUNSAFE (left alone) when
 * the link is someone else's. */
int sv_wg_down(const char *ifname, const char *alias);

/* The userspace backend's pieces, for tests. */
/* "set=1\n...\n\n": the UAPI request that applies cfg (malloc'd). */
int sv_wg_uapi_set_text(char **out, const sv_wg_config *cfg);
/* SV_WG_UAPI_DIR "/<ifname>.sock". */
void sv_wg_uapi_path(char out[64], const char *ifname);
/* The process serving ifname's socket (SO_PEERCRED). SV_ENOTFOUND when
 * nothing listens there. */
int sv_wg_uapi_server_pid(const char *ifname, pid_t *pid);

/* The kernel backend's request, for tests: a complete WG_CMD_SET_DEVICE
 * message for generic netlink family `family` in buf (size bytes; 0 and
 * *len = 0 when it does not fit), sequence number seq. */
int sv_wg_genl_build_set(void *buf, size_t size, uint16_t family, uint32_t seq, const char *ifname,
			 const sv_wg_config *cfg, size_t *len);

#endif
