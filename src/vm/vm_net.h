/* The seam between a VM and host networking (implemented in src/vm/vm_net.c on
 * top of src/net). The VM layer calls these and knows nothing else of bridges,
 * TAPs, leases or nftables. */
#ifndef SV_VM_VM_NET_H
#define SV_VM_VM_NET_H

#include "util/ledger.h"
#include "util/spawn.h"
#include <smartvm/manager.h>
#include <smartvm/net.h>

/* For every network interface of cfg (a deep copy owned by the VM, which this
 * may edit): create or adopt the host device, lease an address, pick the MAC,
 * and (for the first interface, unless boot_args already has "ip=") append
 * "ip=<guest>::<gateway>:<mask>::eth0:off" to boot_args. Fills taps[i] for
 * each interface (the caller allocated cfg->n_network_interfaces entries).
 * Records every resource in the ledger before creating it. On failure, what
 * was created is left for the ledger replay to remove. */
int sv_vm_net_setup(const sv_manager_options *opts, const char *data_dir, const char *vm_id,
		    sv_ledger *ledger, sv_vm_config *cfg, sv_tap_device *taps);

/* Spawns so (the supervisor, which starts the VMM) where the VM's TAPs are:
 * inside net.netns_path when cfg has one, else here. */
int sv_vm_net_spawn(const sv_vm_config *cfg, const sv_spawn_opts *so, pid_t *pid);

/* Registers the ledger undo handlers of the networking kinds (tap, lease,
 * bridge, nft, ...). Idempotent; called before any ledger replay. */
void sv_vm_net_register_undo(void);

#endif
