/* The checks of a VM's networking options (sv_vm_net_options) that need no
 * change on the host: version, combinations, published ports, the
 * WireGuard file (read and parsed) and the namespace path (opened and
 * checked). Called by sv_vm_config_validate, so bad options are a
 * configuration error before anything is created. */
#ifndef SV_NET_NET_OPTIONS_H
#define SV_NET_NET_OPTIONS_H

#include <smartvm/config.h>
#include <stdbool.h>

/* SV_EINVAL (or SV_ENOTFOUND for a file that is missing) with a message
 * naming the field, e.g. `net.publish[1] "8080:80": takes the same host
 * port as net.publish[0]`. cfg->net NULL is fine. */
int sv_net_check_vm_options(const sv_vm_config *cfg);

/* Bring-your-own networking (net.netns_path or net.existing_taps): no
 * bridge, lease, NAT or firewall of smartvm's. */
bool sv_net_options_byo(const sv_vm_net_options *o);

#endif
