/** @file
 * Host networking types shared by the manager options and the VM: the host
 * side of a guest interface, and the egress policy applied to traffic from
 * the VM subnet. Types only (nothing here has a thread-safety concern). */
#ifndef SMARTVM_NET_H
#define SMARTVM_NET_H

#include <smartvm/common.h>
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

#ifdef __cplusplus
}
#endif
#endif
