/* Networking someone else owns: net.netns_path (the VM's TAPs made in that
 * namespace, its VMM run there) and net.existing_taps (existing TAPs used as
 * they are). See net_byo.c for what smartvm does and never does there. */
#ifndef SV_NET_NET_BYO_H
#define SV_NET_NET_BYO_H

#include "util/ledger.h"
#include "util/spawn.h"
#include <smartvm/config.h>
#include <smartvm/net.h>

/* For every interface of cfg (the VM's own copy; cfg->net is set and
 * bring-your-own): checks or creates its TAP, picks its MAC, fills taps[i]
 * (no addresses: they are the owner's). Records each TAP it creates before
 * creating it. */
int sv_net_byo_setup(const char *vm_id, sv_ledger *ledger, sv_vm_config *cfg, sv_tap_device *taps);

/* The error for interface i's host_dev_name dev, a TAP smartvm made for
 * another VM (alias: its link alias, SV_NET_TAP_ALIAS_PREFIX "VM/IFACE"):
 * two VMs on one TAP would see each other's frames. Returns SV_EBUSY. */
int sv_net_tap_taken(size_t i, const char *dev, const char *alias);

/* Fills what nic (of the VM's own copy, config_copy.c) leaves unset: its
 * host_dev_name with dev and its guest_mac with mac, so that the VMM and
 * what the VM records name the device and MAC actually used. */
int sv_net_iface_fill(sv_net_iface_config *nic, const char *dev, const char *mac);

/* sv_spawn, inside net.netns_path when cfg has one: the VMM (and the
 * supervisor that starts it) must live where its TAPs are. */
int sv_net_spawn_in_netns(const sv_vm_config *cfg, const sv_spawn_opts *so, pid_t *pid);

#endif
