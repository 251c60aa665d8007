/** @file
 * Host networking administration: checking the networking options, parsing
 * egress rules as the CLI spells them, listing the addresses and TAPs in use,
 * and collecting what VMs that no longer run left behind.
 *
 * Host state lives under `<data_dir>/net`: per bridge a lease file
 * (`<bridge>.leases`) and a state file (`<bridge>.bridge`), guarded by flock on
 * the directory. A VM creates its networking when it starts: the bridge and
 * its nftables tables the first time, and they stay after the last VM stops
 * until sv_net_down or sv_net_gc take them down; these functions read that
 * state, take bridges down or remove leftovers.
 *
 * Thread safety: every function here may be called from several threads and
 * processes at once (the host state is guarded with flock).
 */
#ifndef SMARTVM_NETADMIN_H
#define SMARTVM_NETADMIN_H

#include <smartvm/common.h>
#include <smartvm/manager.h>
#include <smartvm/net.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Checks bridge_name (at most 15 bytes of [A-Za-z0-9_.-]), subnet (IPv4 CIDR,
 * prefix 1-30, no host bits, clear of 0.0.0.0/8, loopback, link-local,
 * multicast and 240.0.0.0/4), outbound_interface and the egress rules. NULL
 * opts or NULL fields are the defaults ("svbr0", "172.30.0.0/24").
 * SV_EINVALID_SUBNET or SV_EINVAL; the message names the field, the value and
 * why, e.g. `subnet "127.0.0.0/8": overlaps 127.0.0.0/8 (loopback): its
 * addresses never leave a host`. */
SV_EXTERN int sv_net_validate_options(const sv_manager_options *opts);

/** The buffer an egress rule's destination is parsed into. */
#define SV_EGRESS_DEST_MAX 19

/** Parses "allow|deny:CIDR[:proto[:ports]]" (proto tcp|udp|icmp|all, ports
 * "N" or "N-M", tcp/udp only), e.g. "deny:10.0.0.0/8:tcp:22". out->destination
 * points to dest_buf (SV_EGRESS_DEST_MAX bytes), which the caller keeps alive.
 * SV_EINVAL with a message quoting text. */
SV_EXTERN int sv_egress_rule_parse(sv_egress_rule *out, char *dest_buf, const char *text);

/** Parses "allow" / "deny". */
SV_EXTERN int sv_egress_action_parse(sv_egress_action *out, const char *text);

typedef struct {
	unsigned int version; /**< SV_NET_ADMIN_OPTIONS_VERSION */
	const char *data_dir;    /**< required (the manager's resolved value) */
	const char *runtime_dir; /**< required: where VM directories live */
	const char *bridge_name; /**< NULL = every bridge with smartvm state */
} sv_net_admin_options;

/** The version of sv_net_admin_options this header describes. */
#define SV_NET_ADMIN_OPTIONS_VERSION 1
/** Every field at its default, for this header's version. */
#define SV_NET_ADMIN_OPTIONS_INIT                                                                            \
	{                                                                                                    \
		.version = SV_NET_ADMIN_OPTIONS_VERSION                                                      \
	}
/** Sets *opts to SV_NET_ADMIN_OPTIONS_INIT of `version` (pass SV_NET_ADMIN_OPTIONS_VERSION), for callers
 * that cannot use the macro; SV_EINVAL for a version this library does not know. */
SV_EXTERN int sv_net_admin_options_init(sv_net_admin_options *opts, unsigned int version);

/** One address lease: which VM interface holds which address and device. */
typedef struct {
	char bridge[16];
	char subnet[19];
	char guest_ip[16];
	char vm_id[65];
	char iface_id[64];
	char dev[16];     /**< TAP (or given host device) name */
	char mac[18];
	bool dev_owned;   /**< smartvm created dev and removes it */
	bool dev_present; /**< dev exists on the host now */
	bool vm_running;  /**< the VM still runs (see sv_net_gc) */
	pid_t pid;        /**< process that set the interface up */
} sv_net_lease_info;

/** Lists every lease (of one bridge or all): *out is a malloc'd array of
 * *n_out leases, each its own allocation (so sv_net_lease_info may grow at
 * its end); free it with sv_net_lease_infos_free. */
SV_EXTERN int sv_net_list(const sv_net_admin_options *opts, sv_net_lease_info ***out, size_t *n_out);
/** Frees what sv_net_list returned. NULL is fine. */
SV_EXTERN void sv_net_lease_infos_free(sv_net_lease_info **leases, size_t n);

/** Removes the networking of VMs that no longer run: a lease's VM still runs
 * while the process that set its networking up is alive, or while it has a
 * directory under runtime_dir whose ledger names a live process (its VMM);
 * otherwise (e.g. after a SIGKILL) it is dead. Removes their TAPs (those
 * smartvm created) and leases; then takes down every bridge left without a
 * lease, as sv_net_down does (like `docker network prune`). *n_removed (may
 * be NULL) counts the leases removed. */
SV_EXTERN int sv_net_gc(const sv_net_admin_options *opts, size_t *n_removed);

/** Takes down a bridge's shared networking (opts->bridge_name, or every
 * bridge with smartvm state): the bridge, its gateway address and its
 * nftables tables persist after the last VM on them stops, so that the next
 * VM starts without creating them again (as Docker's docker0 does). This
 * removes the tables, puts back IPv4 forwarding and route_localnet if
 * smartvm switched them on and nothing else needs them, deletes the bridge
 * if smartvm created it (a bridge that existed before is never deleted or
 * changed), and forgets the bridge's state. A bridge on which any lease is
 * held is refused with SV_EBUSY, the message naming the VMs (and
 * interfaces) holding them; leases of VMs that no longer run are removed
 * by sv_net_gc, not here. A bridge without smartvm state is nothing to do.
 * runtime_dir is not used (may be NULL). *n_down (may be NULL) counts the
 * bridges taken down. */
SV_EXTERN int sv_net_down(const sv_net_admin_options *opts, size_t *n_down);

#ifdef __cplusplus
}
#endif
#endif
