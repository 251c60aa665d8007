/* Element batches for a VM's share of the bridge's nftables tables (see
 * net_nft_vm.h). One batch is one nftables transaction, so setting up a VM's
 * firewall, ports and tunnel routing costs one nftables transaction, whatever the
 * number of interfaces. */
#include "net/net_nft_vm.h"

#include "net/net_addr.h"
#include "net/net_nft.h"
#include "util/error.h"
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
	if (!(b->cmds = json_array()))
		return sv_err(SV_ENOMEM, "out of memory");
	return 0;
}

void sv_nft_batch_free(sv_nft_batch *b)
{
	json_decref(b->cmds);
	b->cmds = NULL;
}

static json_t *ip_text(uint32_t ip)
{
	char text[16];
	sv_ipv4_format(ip, text);
	return json_string(text);
}

/* elem is stolen. */
static void element(sv_nft_batch *b, bool add, const char *family, const char *set, json_t *elem)
{
	const char *const ops[] = {"add", "delete"};
	for (int i = 0; i < (add ? 1 : 2); i++)
		json_array_append_new(b->cmds,
				      json_pack("{s:{s:{s:s,s:s,s:s,s:[O]}}}", ops[i], "element", "family",
						family, "table", b->table, "name", set, "elem", elem));
	json_decref(elem);
	b->n++;
}

void sv_nft_batch_iface_parts(sv_nft_batch *b, bool add, const sv_nft_vm_iface *f, bool dev_parts,
			      bool ip_parts)
{
	if (dev_parts) {
		element(b, add, "bridge", "ports", json_string(f->dev));
		element(b, add, "bridge", "addrs",
			json_pack("{s:[s,s,o]}", "concat", f->dev, f->mac, ip_text(f->ip)));
		if (f->open)
			element(b, add, "bridge", "open", json_string(f->dev));
	}
	if (ip_parts && f->open)
		element(b, add, "ip", "vm_open", ip_text(f->ip));
	if (ip_parts && f->dns)
		element(b, add, "ip", "dns_ok", ip_text(f->ip));
}

void sv_nft_batch_iface(sv_nft_batch *b, bool add, const sv_nft_vm_iface *f)
{
	sv_nft_batch_iface_parts(b, add, f, true, true);
}

void sv_nft_batch_wg_name_parts(sv_nft_batch *b, bool add, uint32_t ip, const char *wg_if)
{
	element(b, add, "ip", "wg_ifs", json_string(wg_if));
	element(b, add, "ip", "wg_routes", json_pack("{s:[o,s]}", "concat", ip_text(ip), wg_if));
}

void sv_nft_batch_wg(sv_nft_batch *b, bool add, uint32_t ip, const char *wg_if)
{
	sv_nft_batch_wg_name_parts(b, add, ip, wg_if);
	sv_nft_batch_wg_ip(b, add, ip);
}

void sv_nft_batch_wg_ip(sv_nft_batch *b, bool add, uint32_t ip)
{
	element(b, add, "ip", "wg_vms", ip_text(ip));
}

void sv_nft_batch_port(sv_nft_batch *b, bool add, const sv_port_pub *p)
{
	const char *proto = p->udp ? "udp" : "tcp";
	json_t *key = p->host_ip
			  ? json_pack("{s:[o,s,i]}", "concat", ip_text(p->host_ip), proto, p->host_port)
			  : json_pack("{s:[s,i]}", "concat", proto, p->host_port);
	const char *maps[2][2] = {{"pub_any_addr", "pub_any_port"}, {"pub_ip_addr", "pub_ip_port"}};
	const char *const *m = maps[p->host_ip != 0];
	element(b, add, "ip", m[0], json_pack("[O,o]", key, ip_text(p->guest_ip)));
	element(b, add, "ip", m[1], json_pack("[o,i]", key, p->guest_port));
}

char *sv_nft_batch_text(const sv_nft_batch *b)
{
	json_t *doc = json_pack("{s:O}", "nftables", b->cmds);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return text;
}

int sv_nft_batch_apply(sv_nft_batch *b, bool removing, const char *what)
{
	if (!b->n)
		return 0;
	char *text = sv_nft_batch_text(b);
	if (!text)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = sv_nft_run(text, what);
	free(text);
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
