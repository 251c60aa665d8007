/* The wg-quick file parser (see net_wgconf.h). One line at a time: comments
 * ('#' to the end of the line) and surrounding blanks go, a line is a section
 * header or KEY = VALUE (split at the first '=', so base64 padding stays in
 * the value). Keys and section names are case-insensitive, as `wg` reads
 * them. Messages never quote a key's value: private and preshared keys are
 * secrets, and messages end up in logs. */
#include "net/net_wgconf.h"

#include "net/net_addr.h"
#include "util/crypto_lib.h"
#include "util/error.h"
#include "util/file.h"
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LINE_MAX_BYTES 4096

typedef enum { SEC_NONE, SEC_INTERFACE, SEC_PEER } section;

typedef struct {
	const char *origin;
	int line;
	const char *key; /* as written, for messages */
	section sec;
	bool had_interface;
	/* lines of the single-valued keys seen in the current section (0 = not yet) */
	int seen[8];
} parser;

enum { K_PRIVATE, K_LISTEN, K_MTU, K_PUBLIC, K_PSK, K_ENDPOINT, K_KEEPALIVE };

static int fail(const parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const parser *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->key)
		return sv_err(SV_EINVAL, "%s:%d: %s: %s", p->origin, p->line, p->key, msg);
	return sv_err(SV_EINVAL, "%s:%d: %s", p->origin, p->line, msg);
}

bool sv_wg_key_from_base64(uint8_t key[SV_WG_KEY_LEN], const char *text)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	if (strlen(text) != 44 || text[43] != '=')
		return false;
	for (int i = 0; i < 43; i++)
		if (!strchr(alphabet, text[i]) || !text[i])
			return false;
	/* The last character carries 4 bits of the key and 2 of padding, which
	 * must be zero: anything else is not the canonical encoding. */
	if ((strchr(alphabet, text[42]) - alphabet) & 3)
		return false;
	unsigned char buf[33];
	/* Callers other than sv_wg_config_parse (which loads it first, to say
	 * why it cannot) reach here too: the fuzzer's key check. */
	if (sv_crypto_load() != 0 || sv_crypto()->decode_block(buf, (const unsigned char *)text, 44) != 33)
		return false;
	memcpy(key, buf, SV_WG_KEY_LEN);
	return true;
}

static bool parse_uint(const char *text, unsigned long max, unsigned long *out)
{
	if (!*text || strlen(text) > 10)
		return false;
	unsigned long v = 0;
	for (const char *c = text; *c; c++) {
		if (!isdigit((unsigned char)*c))
			return false;
		v = v * 10 + (unsigned long)(*c - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static int single(parser *p, int which)
{
	if (p->seen[which])
		return fail(p, "given twice in this section (first on line %d)", p->seen[which]);
	p->seen[which] = p->line;
	return 0;
}

static int key_value(parser *p, const char *value, uint8_t key[SV_WG_KEY_LEN])
{
	if (!sv_wg_key_from_base64(key, value))
		return fail(p, "not a WireGuard key (base64 of 32 bytes: 44 characters ending in '=')");
	return 0;
}

/* One IPv4 address or CIDR of a list; bare addresses are /32. */
static int cidr_value(parser *p, const char *item, sv_wg_cidr *out)
{
	if (strchr(item, ':'))
		return fail(p, "\"%s\": IPv6 is not supported (VM networking is IPv4 only)", item);
	uint32_t addr;
	int prefix = 32;
	if (strchr(item, '/') ? !sv_ipv4_cidr_parse(item, &addr, &prefix) : !sv_ipv4_parse(item, &addr))
		return fail(p, "\"%s\": not an IPv4 address or CIDR (a.b.c.d[/prefix])", item);
	out->addr = addr;
	out->prefix = prefix;
	return 0;
}

/* A comma-separated list of CIDRs, appended to list. */
static int cidr_list(parser *p, char *value, sv_wg_cidr *list, size_t *n, bool mask)
{
	for (char *rest = value, *item; (item = strsep(&rest, ","));) {
		while (isspace((unsigned char)*item))
			item++;
		size_t len = strlen(item);
		while (len && isspace((unsigned char)item[len - 1]))
			item[--len] = '\0';
		if (!len)
			return fail(p, "empty item in the list");
		if (*n == SV_WG_MAX_CIDRS)
			return fail(p, "more than %d addresses", SV_WG_MAX_CIDRS);
		int rc = cidr_value(p, item, &list[*n]);
		if (rc)
			return rc;
		if (mask)
			list[*n].addr &= sv_ipv4_mask(list[*n].prefix);
		(*n)++;
	}
	if (!*n)
		return fail(p, "empty list");
	return 0;
}

static int endpoint_value(parser *p, const char *value, sv_wg_peer *peer)
{
	if (value[0] == '[')
		return fail(p, "\"%s\": IPv6 endpoints are not supported (VM networking is IPv4 only)",
			    value);
	const char *colon = strrchr(value, ':');
	char host[64];
	unsigned long port = 0;
	if (!colon || (size_t)(colon - value) >= sizeof(host) || !parse_uint(colon + 1, 65535, &port) ||
	    port == 0)
		return fail(p, "\"%s\": not HOST:PORT with a port from 1 to 65535", value);
	memcpy(host, value, (size_t)(colon - value));
	host[colon - value] = '\0';
	if (strchr(host, ':'))
		return fail(p, "\"%s\": IPv6 endpoints are not supported (VM networking is IPv4 only)",
			    value);
	if (!sv_ipv4_parse(host, &peer->endpoint_addr))
		return fail(p, "\"%s\": the host must be an IPv4 address (smartvm does not resolve names)",
			    value);
	peer->has_endpoint = true;
	peer->endpoint_port = (uint16_t)port;
	return 0;
}

/* Keys smartvm refuses, wherever they appear, with the reason. */
static const char *refused_reason(const char *key)
{
	static const char *const hooks[] = {"PreUp", "PostUp", "PreDown", "PostDown"};
	for (size_t i = 0; i < 4; i++)
		if (!strcasecmp(key, hooks[i]))
			return "hooks are not supported: they are shell commands, and smartvm never runs a "
			       "shell";
	if (!strcasecmp(key, "DNS"))
		return "not supported: wg-quick sets DNS through resolvconf, a hook; configure the guest's "
		       "resolver in the guest";
	if (!strcasecmp(key, "Table"))
		return "not supported: smartvm routes the VM's traffic through a routing table of its own";
	if (!strcasecmp(key, "SaveConfig"))
		return "not supported: smartvm never writes the file back";
	if (!strcasecmp(key, "FwMark"))
		return "not supported: smartvm routes by source address, not by mark";
	return NULL;
}

static int interface_key(parser *p, const char *key, char *value, sv_wg_config *c)
{
	unsigned long v = 0;
	int rc;
	if (!strcasecmp(key, "PrivateKey"))
		return (rc = single(p, K_PRIVATE)) ? rc : key_value(p, value, c->private_key);
	if (!strcasecmp(key, "Address"))
		return cidr_list(p, value, c->addresses, &c->n_addresses, false);
	if (!strcasecmp(key, "ListenPort")) {
		if ((rc = single(p, K_LISTEN)))
			return rc;
		if (!parse_uint(value, 65535, &v))
			return fail(p, "\"%s\": not a port number (0-65535)", value);
		c->has_listen_port = true;
		c->listen_port = (uint16_t)v;
		return 0;
	}
	if (!strcasecmp(key, "MTU")) {
		if ((rc = single(p, K_MTU)))
			return rc;
		if (!parse_uint(value, 9000, &v) || v < 576)
			return fail(p, "\"%s\": not an MTU from 576 to 9000", value);
		c->mtu = (uint32_t)v;
		return 0;
	}
	return fail(p, "unknown key in [Interface] (expected PrivateKey, Address, ListenPort or MTU)");
}

static int peer_key(parser *p, const char *key, char *value, sv_wg_peer *peer)
{
	unsigned long v = 0;
	int rc;
	if (!strcasecmp(key, "PublicKey"))
		return (rc = single(p, K_PUBLIC)) ? rc : key_value(p, value, peer->public_key);
	if (!strcasecmp(key, "PresharedKey")) {
		if ((rc = single(p, K_PSK)) || (rc = key_value(p, value, peer->preshared_key)))
			return rc;
		peer->has_preshared_key = true;
		return 0;
	}
	if (!strcasecmp(key, "Endpoint"))
		return (rc = single(p, K_ENDPOINT)) ? rc : endpoint_value(p, value, peer);
	if (!strcasecmp(key, "AllowedIPs"))
		return cidr_list(p, value, peer->allowed_ips, &peer->n_allowed_ips, true);
	if (!strcasecmp(key, "PersistentKeepalive")) {
		if ((rc = single(p, K_KEEPALIVE)))
			return rc;
		if (!strcasecmp(value, "off"))
			v = 0;
		else if (!parse_uint(value, 65535, &v))
			return fail(p, "\"%s\": not \"off\" or seconds (0-65535)", value);
		peer->persistent_keepalive = (uint16_t)v;
		return 0;
	}
	return fail(p, "unknown key in [Peer] (expected PublicKey, PresharedKey, Endpoint, AllowedIPs or "
		       "PersistentKeepalive)");
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t len = strlen(s);
	while (len && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	return s;
}

static int section_header(parser *p, const char *text, sv_wg_config *c)
{
	memset(p->seen, 0, sizeof(p->seen));
	if (!strcasecmp(text, "[Interface]")) {
		if (p->had_interface)
			return fail(p, "a second [Interface] section");
		p->had_interface = true;
		p->sec = SEC_INTERFACE;
		return 0;
	}
	if (!strcasecmp(text, "[Peer]")) {
		if (c->n_peers == SV_WG_MAX_PEERS)
			return fail(p, "more than %d [Peer] sections", SV_WG_MAX_PEERS);
		c->n_peers++;
		p->sec = SEC_PEER;
		return 0;
	}
	return fail(p, "unknown section \"%.40s\" (expected [Interface] or [Peer])", text);
}

static int parse_line(parser *p, char *line, sv_wg_config *c)
{
	char *hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	char *text = trim(line);
	if (!*text)
		return 0;
	if (*text == '[')
		return section_header(p, text, c);
	char *eq = strchr(text, '=');
	if (!eq)
		return fail(p, "\"%.40s\": not KEY = VALUE", text);
	*eq = '\0';
	char *key = trim(text), *value = trim(eq + 1);
	if (!*key)
		return fail(p, "a value without a key");
	p->key = key;
	const char *why = refused_reason(key);
	int rc;
	if (why)
		rc = fail(p, "%s", why);
	else if (!*value)
		rc = fail(p, "no value");
	else if (p->sec == SEC_INTERFACE)
		rc = interface_key(p, key, value, c);
	else if (p->sec == SEC_PEER)
		rc = peer_key(p, key, value, &c->peers[c->n_peers - 1]);
	else
		rc = fail(p, "outside a section (expected [Interface] or [Peer] first)");
	p->key = NULL;
	return rc;
}

static int check_complete(const char *origin, const sv_wg_config *c, bool has_private)
{
	if (!has_private)
		return sv_err(SV_EINVAL, "%s: [Interface] PrivateKey: missing", origin);
	if (!c->n_addresses)
		return sv_err(SV_EINVAL, "%s: [Interface] Address: missing (the tunnel's own IPv4 address)",
			      origin);
	if (!c->n_peers)
		return sv_err(SV_EINVAL, "%s: no [Peer] section", origin);
	static const uint8_t zero[SV_WG_KEY_LEN];
	for (size_t i = 0; i < c->n_peers; i++)
		if (!memcmp(c->peers[i].public_key, zero, SV_WG_KEY_LEN))
			return sv_err(SV_EINVAL, "%s: [Peer] number %zu: PublicKey: missing", origin, i + 1);
	return 0;
}

int sv_wg_config_parse(sv_wg_config *out, const char *text, size_t len, const char *origin)
{
	memset(out, 0, sizeof(*out));
	if (len > SV_WG_CONFIG_MAX_BYTES)
		return sv_err(SV_EINVAL, "%s: larger than %d bytes", origin, SV_WG_CONFIG_MAX_BYTES);
	if (memchr(text, '\0', len))
		return sv_err(SV_EINVAL, "%s: contains a NUL byte (not a text file)", origin);
	if (sv_crypto_load() != 0) /* its keys' base64 */
		return sv_err_prefix("%s", origin);
	parser p = {.origin = origin};
	bool has_private = false;
	char line[LINE_MAX_BYTES + 1];
	size_t pos = 0;
	int rc = 0;
	while (pos < len && !rc) {
		p.line++;
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		if (n > LINE_MAX_BYTES) {
			rc = fail(&p, "longer than %d bytes", LINE_MAX_BYTES);
			break;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + 1;
		int seen_private = p.seen[K_PRIVATE];
		rc = parse_line(&p, line, out);
		if (p.sec == SEC_INTERFACE && p.seen[K_PRIVATE] && !seen_private)
			has_private = true;
	}
	if (!rc)
		rc = check_complete(origin, out, has_private);
	if (rc)
		memset(out, 0, sizeof(*out)); /* no key material left behind */
	return rc;
}

int sv_wg_config_load(sv_wg_config *out, const char *path)
{
	char *text = NULL;
	size_t len = 0;
	int rc = sv_read_file(path, SV_WG_CONFIG_MAX_BYTES, &text, &len);
	if (rc)
		return sv_err_prefix("WireGuard config");
	rc = sv_wg_config_parse(out, text, len, path);
	explicit_bzero(text, len);
	free(text);
	return rc;
}
