/* A WireGuard configuration in wg-quick's file format, read as far as smartvm
 * needs it: [Interface] PrivateKey, Address, ListenPort, MTU; [Peer]
 * PublicKey, PresharedKey, Endpoint, AllowedIPs, PersistentKeepalive. Pure:
 * nothing here touches the host (the file is read by the caller).
 *
 * The file is outside data (a fuzz target: fuzz/wg_config.c). What smartvm
 * will not do is refused with an error naming the key and the line: hooks
 * (PreUp, PostUp, PreDown, PostDown: shell commands), DNS (set by
 * resolvconf, a hook), Table, SaveConfig, FwMark, IPv6 addresses, allowed IPs
 * and endpoints; and so are malformed keys (base64 of 32 bytes) and
 * endpoints (IPv4:PORT; host names are not resolved). */
#ifndef SV_NET_NET_WGCONF_H
#define SV_NET_NET_WGCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SV_WG_KEY_LEN 32
#define SV_WG_MAX_PEERS 16
#define SV_WG_MAX_CIDRS 16
/* Larger files are refused before parsing. */
#define SV_WG_CONFIG_MAX_BYTES (64 * 1024)

/* An IPv4 address with its prefix; host bits may be set (Address). Host order. */
typedef struct {
	uint32_t addr;
	int prefix;
} sv_wg_cidr;

typedef struct {
	uint8_t public_key[SV_WG_KEY_LEN];
	bool has_preshared_key;
	uint8_t preshared_key[SV_WG_KEY_LEN];
	bool has_endpoint;
	uint32_t endpoint_addr; /* host order */
	uint16_t endpoint_port;
	sv_wg_cidr allowed_ips[SV_WG_MAX_CIDRS];
	size_t n_allowed_ips;
	uint16_t persistent_keepalive; /* seconds; 0 = off */
} sv_wg_peer;

typedef struct {
	uint8_t private_key[SV_WG_KEY_LEN];
	sv_wg_cidr addresses[SV_WG_MAX_CIDRS];
	size_t n_addresses;
	bool has_listen_port;
	uint16_t listen_port;
	uint32_t mtu; /* 0 = the default (1420) */
	sv_wg_peer peers[SV_WG_MAX_PEERS];
	size_t n_peers;
} sv_wg_config;

/* Parses text (len bytes, need not be NUL-terminated). origin names the file
 * in messages ("<origin>:<line>: <Key>: ..."). Requires a PrivateKey, at
 * least one Address and one [Peer], and a PublicKey in each peer. 0 or
 * SV_EINVAL with the message. */
int sv_wg_config_parse(sv_wg_config *out, const char *text, size_t len, const char *origin);

/* Reads (a regular file of at most SV_WG_CONFIG_MAX_BYTES) and parses path. */
int sv_wg_config_load(sv_wg_config *out, const char *path);

/* Decodes standard base64 of exactly 32 bytes (44 characters, one '=');
 * false also when libcrypto cannot be loaded (the error says so). */
bool sv_wg_key_from_base64(uint8_t key[SV_WG_KEY_LEN], const char *text);

#endif
