/* Element batches for a VM's share of the bridge's nftables tables (see
 * net_nft_vm.h). One batch is one nf_tables transaction, so setting up a VM's
 * firewall, ports and tunnel routing costs one transaction, whatever the
 * number of interfaces.
 *
 * Keys and data are laid out as nftables stores the sets' types (net_nft.c):
 * ifname 16 bytes zero-padded, ether_addr 6, ipv4_addr 4 and inet_service 2
 * in network order, inet_proto 1; in a concatenation each field is padded
 * to 4 bytes. tests/integration/test_net_elements.c lists what the kernel
 * holds and compares it with what nft itself makes of the same elements. */
#include "net/net_nft_vm.h"

#include "net/net_addr.h"
#include "net/net_nft.h"
#include "util/error.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sv_nft_batch_init(sv_nft_batch *b, const char *bridge)
{
	memset(b, 0, sizeof(*b));
	int rc = sv_nft_table_for(b->table, bridge);
	if (rc)
		return rc;
	snprintf(b->bridge, sizeof(b->bridge), "%s", bridge);
	return 0;
}

void sv_nft_batch_free(sv_nft_batch *b)
{
	free(b->elems);
	b->elems = NULL;
	b->n = b->cap = 0;
}

/* An element's key (or data) under construction, with its text as nft
 * prints it. */
typedef struct {
	uint8_t bytes[SV_NFT_KEY_MAX];
	size_t len;
	char text[64];
	bool bad;
} field_buf;

static void put(field_buf *k, const void *bytes, size_t len, size_t padded, const char *text)
{
	if (k->len + padded > sizeof(k->bytes)) {
		k->bad = true;
		return;
	}
	memset(k->bytes + k->len, 0, padded);
	memcpy(k->bytes + k->len, bytes, len);
	k->len += padded;
	size_t used = strlen(k->text);
	snprintf(k->text + used, sizeof(k->text) - used, "%s%s", used ? " . " : "", text);
}

/* In a concatenation, every field takes a multiple of 4 bytes. */
static size_t padded(size_t len, bool concat) { return concat ? (len + 3) / 4 * 4 : len; }

static void put_ifname(field_buf *k, const char *name, bool concat)
{
	char bytes[16] = {0};
	size_t len = strnlen(name, sizeof(bytes));
	if (len == sizeof(bytes))
		k->bad = true;
	memcpy(bytes, name, len);
	put(k, bytes, sizeof(bytes), padded(sizeof(bytes), concat), name);
}

static void put_ip(field_buf *k, uint32_t ip, bool concat)
{
	uint32_t net = htonl(ip);
	char text[16];
	sv_ipv4_format(ip, text);
	put(k, &net, sizeof(net), padded(sizeof(net), concat), text);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* "xx:xx:xx:xx:xx:xx" exactly (no sign, no space, no short byte). */
static void put_mac(field_buf *k, const char *mac, bool concat)
{
	uint8_t bytes[6] = {0};
	for (int i = 0; i < 6; i++) {
		const char *p = mac + 3 * i;
		int hi = hex_digit(p[0]), lo = hi < 0 ? -1 : hex_digit(p[1]);
		if (lo < 0 || p[2] != (i < 5 ? ':' : '\0')) {
			k->bad = true;
			break;
		}
		bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	put(k, bytes, sizeof(bytes), padded(sizeof(bytes), concat), mac);
}

static void put_proto(field_buf *k, bool udp, bool concat)
{
	uint8_t proto = udp ? IPPROTO_UDP : IPPROTO_TCP;
	put(k, &proto, 1, padded(1, concat), udp ? "udp" : "tcp");
}

static void put_port(field_buf *k, uint16_t port, bool concat)
{
	uint16_t net = htons(port);
	char text[8];
	snprintf(text, sizeof(text), "%u", port);
	put(k, &net, sizeof(net), padded(sizeof(net), concat), text);
}

/* Adds the element (key, and data for a map; data may be NULL); a removal
 * adds it and then deletes it, so removing what is gone succeeds. */
static void element(sv_nft_batch *b, bool add, bool bridge_family, const char *set, const field_buf *key,
		    const field_buf *data)
{
	if (b->error)
		return;
	if (key->bad || (data && (data->bad || data->len > sizeof(b->elems->data)))) {
		b->error = SV_EINVAL;
		snprintf(b->error_text, sizeof(b->error_text), "element %s of set %s: not a valid key",
			 key->text, set);
		return;
	}
	size_t ops = add ? 1 : 2;
	if (b->n + ops > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		sv_nft_elem *grown = realloc(b->elems, cap * sizeof(*grown));
		if (!grown) {
			b->error = SV_ENOMEM;
			snprintf(b->error_text, sizeof(b->error_text), "out of memory");
			return;
		}
		b->elems = grown;
		b->cap = cap;
	}
	for (size_t i = 0; i < ops; i++) {
		sv_nft_elem *e = &b->elems[b->n++];
		memset(e, 0, sizeof(*e));
		e->add = i == 0;
		e->bridge_family = bridge_family;
		e->set = set;
		memcpy(e->key, key->bytes, key->len);
		e->key_len = (uint8_t)key->len;
		if (data) {
			memcpy(e->data, data->bytes, data->len);
			e->data_len = (uint8_t)data->len;
		}
		snprintf(e->text, sizeof(e->text), "%s%s%s", key->text, data ? " : " : "",
			 data ? data->text : "");
	}
}

void sv_nft_batch_iface_parts(sv_nft_batch *b, bool add, const sv_nft_vm_iface *f, bool dev_parts,
			      bool ip_parts)
{
	if (dev_parts) {
		field_buf dev = {0}, addr = {0};
		put_ifname(&dev, f->dev, false);
		element(b, add, true, "ports", &dev, NULL);
		put_ifname(&addr, f->dev, true);
		put_mac(&addr, f->mac, true);
		put_ip(&addr, f->ip, true);
		element(b, add, true, "addrs", &addr, NULL);
		if (f->open)
			element(b, add, true, "open", &dev, NULL);
	}
	field_buf ip = {0};
	put_ip(&ip, f->ip, false);
	if (ip_parts && f->open)
		element(b, add, false, "vm_open", &ip, NULL);
	if (ip_parts && f->dns)
		element(b, add, false, "dns_ok", &ip, NULL);
}

void sv_nft_batch_iface(sv_nft_batch *b, bool add, const sv_nft_vm_iface *f)
{
	sv_nft_batch_iface_parts(b, add, f, true, true);
}

void sv_nft_batch_wg_name_parts(sv_nft_batch *b, bool add, uint32_t ip, const char *wg_if)
{
	field_buf name = {0}, route = {0};
	put_ifname(&name, wg_if, false);
	element(b, add, false, "wg_ifs", &name, NULL);
	put_ip(&route, ip, true);
	put_ifname(&route, wg_if, true);
	element(b, add, false, "wg_routes", &route, NULL);
}

void sv_nft_batch_wg(sv_nft_batch *b, bool add, uint32_t ip, const char *wg_if)
{
	sv_nft_batch_wg_name_parts(b, add, ip, wg_if);
	sv_nft_batch_wg_ip(b, add, ip);
}

void sv_nft_batch_wg_ip(sv_nft_batch *b, bool add, uint32_t ip)
{
	field_buf key = {0};
	put_ip(&key, ip, false);
	element(b, add, false, "wg_vms", &key, NULL);
}

void sv_nft_batch_port(sv_nft_batch *b, bool add, const sv_port_pub *p)
{
	field_buf key = {0}, addr = {0}, port = {0};
	if (p->host_ip)
		put_ip(&key, p->host_ip, true);
	put_proto(&key, p->udp, true);
	put_port(&key, p->host_port, true);
	/* Map data of one type is that type's own length, unpadded. */
	put_ip(&addr, p->guest_ip, false);
	put_port(&port, p->guest_port, false);
	element(b, add, false, p->host_ip ? "pub_ip_addr" : "pub_any_addr", &key, &addr);
	element(b, add, false, p->host_ip ? "pub_ip_port" : "pub_any_port", &key, &port);
}

int sv_nft_batch_apply(sv_nft_batch *b, bool removing, const char *what)
{
	if (b->error)
		return sv_err(b->error, "%s: %s", what, b->error_text);
	if (!b->n)
		return 0;
	int rc = sv_nft_elems_apply(b->table, b->elems, b->n, what);
	if (rc && removing) {
		/* Removing from tables that are gone (taken down by `net
		 * down` or gc, or flushed by hand) has nothing left to do. */
		sv_err_saved saved;
		sv_err_save(&saved);
		bool exists = true;
		if (sv_nft_exists(b->bridge, &exists) == 0 && !exists) {
			sv_err_restore(&saved);
			sv_err_clear();
			return 0;
		}
		rc = sv_err_restore(&saved);
	}
	return rc;
}

void sv_nft_vm_iface_format(const sv_nft_vm_iface *f, char out[64])
{
	char ip[16];
	sv_ipv4_format(f->ip, ip);
	snprintf(out, 64, "%s,%s,%s,%s%s%s", f->dev, f->mac, ip, f->open ? "o" : "", f->dns ? "d" : "",
		 f->open || f->dns ? "" : "-");
}

bool sv_nft_vm_iface_parse(sv_nft_vm_iface *f, const char *text)
{
	memset(f, 0, sizeof(*f));
	char ip[16], flags[4];
	int end = 0;
	const char *why;
	if (!text ||
	    sscanf(text, "%15[^,],%17[^,],%15[^,],%3[-od]%n", f->dev, f->mac, ip, flags, &end) != 4 ||
	    text[end] || !sv_ifname_valid(f->dev, &why) || !sv_mac_valid(f->mac, &why) ||
	    !sv_ipv4_parse(ip, &f->ip))
		return false;
	f->open = strchr(flags, 'o') != NULL;
	f->dns = strchr(flags, 'd') != NULL;
	return true;
}
