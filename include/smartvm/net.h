/** @file
 * Host networking types shared by the manager options and the VM: the host
 * side of a guest interface, and the egress policy applied to traffic from
 * the VM subnet. Types only (nothing here has a thread-safety concern). */
#ifndef SMARTVM_NET_H
#define SMARTVM_NET_H

#include <smartvm/common.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The host side of one guest interface. */
typedef struct {
	char iface_id[64];
	char tap_name[16];    /**< at most 15 bytes + NUL (IFNAMSIZ) */
	char guest_ip[16];
	char gateway_ip[16];
	char subnet_mask[16];
	char mac[18];         /**< aa:bb:cc:dd:ee:ff */
} sv_tap_device;

typedef enum { SV_EGRESS_DEFAULT = 0, SV_EGRESS_ALLOW = 1, SV_EGRESS_DENY = 2 } sv_egress_action;
typedef enum { SV_PROTO_ALL = 0, SV_PROTO_TCP, SV_PROTO_UDP, SV_PROTO_ICMP } sv_egress_proto;

/** One egress rule for traffic from the VM subnet. */
typedef struct {
	sv_egress_action action;  /**< allow or deny */
	const char *destination;  /**< IPv4 CIDR, e.g. "10.0.0.0/8" ("0.0.0.0/0" = any) */
	sv_egress_proto protocol; /**< default all */
	uint16_t port_from;       /**< tcp/udp only; 0 = any port */
	uint16_t port_to;         /**< inclusive; 0 = same as port_from */
} sv_egress_rule;

/** A VM's networking beyond the defaults (sv_vm_config.net; NULL = all
 * defaults): the bridge, leases, NAT and firewall of the manager's options.
 * Begin with SV_VM_NET_OPTIONS_INIT; the library reads only the fields the
 * version has. */
typedef struct sv_vm_net_options {
	unsigned int version; /**< SV_VM_NET_OPTIONS_VERSION */
	/** A wg-quick style file (only [Interface] PrivateKey, Address,
	 * ListenPort, MTU and [Peer] PublicKey, PresharedKey, Endpoint,
	 * AllowedIPs, PersistentKeepalive; hooks, DNS, Table and IPv6 are
	 * refused). The VM's egress then leaves only through this tunnel,
	 * masqueraded as its Address; while the tunnel is down it is dropped,
	 * never routed another way. Bridge networking only. */
	const char *wireguard_config;
	/** "[HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|udp]" (default tcp, every host
	 * address): traffic to the host's port, from outside and from the host
	 * itself (127.0.0.1 too), is forwarded to the first interface's guest
	 * address. A host port another VM publishes is refused. Bridge
	 * networking only. */
	const char *const *publish;
	size_t n_publish; /**< entries in publish */
	/** A network namespace (a path such as /var/run/netns/NAME or
	 * /proc/PID/ns/net) made by someone else (CNI, Nomad, the user): the
	 * VM's TAPs are created there and its VMM runs there; addressing, NAT
	 * and firewall are the namespace owner's. smartvm removes only the TAPs
	 * it created. */
	const char *netns_path;
	/** Every interface's host_dev_name names an existing TAP (in netns_path
	 * if given), used as it is: no bridge, lease, NAT or firewall, and it
	 * is never deleted. */
	bool existing_taps;
	/** This VM may talk to other VMs on the bridge that allow it too (by
	 * default VMs see nothing of each other). */
	bool allow_vm_to_vm;
	/** This VM may reach port 53 (DNS) on the host; every other service of
	 * the host is closed to guests. */
	bool allow_host_dns;
	/** (version 2) With netns_path: an interface of that namespace made by
	 * someone else (CNI's eth0, a veth) that the VM takes over. The VM's
	 * one TAP is joined to it by tc redirect both ways (an ingress qdisc
	 * and a redirect filter on each, as tc-redirect-tap does); the guest
	 * gets its MAC and its IPv4 address, prefix and default gateway (an
	 * ip= boot argument unless boot_args has one); the address is moved
	 * off it while the VM lives and put back, with the default route,
	 * when the VM is cleaned up. Needs exactly one network interface, a
	 * TAP smartvm creates (not existing_taps) and no guest_mac other than
	 * the interface's. */
	const char *join_dev;
} sv_vm_net_options;

/** The version of sv_vm_net_options this header describes. */
#define SV_VM_NET_OPTIONS_VERSION 2
/** sv_vm_net_options with every default: begin with it. */
#define SV_VM_NET_OPTIONS_INIT { SV_VM_NET_OPTIONS_VERSION, NULL, NULL, 0, NULL, false, false, false, NULL }

#ifdef __cplusplus
}
#endif
#endif
