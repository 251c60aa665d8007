/* Published-port specs and the host-wide port registry (see net_ports.h).
 * The registry lives in the trusted lease directory and is read and written
 * through its fd while the caller holds that directory's flock; this file
 * never takes the lock itself and never touches nftables. */
#include "net/net_ports.h"

#include "net/net_addr.h"
#include "util/buf.h"
#include "util/array.h"
#include "util/error.h"
#include "util/file.h"
#include "util/log.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PORTS_FILE "ports"

static bool parse_port(const char *text, size_t len, uint16_t *out)
{
	if (!len || len > 5)
		return false;
	unsigned v = 0;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)text[i]))
			return false;
		v = v * 10 + (unsigned)(text[i] - '0');
	}
	if (v == 0 || v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

int sv_port_pub_parse(sv_port_pub *out, const char *spec)
{
	memset(out, 0, sizeof(*out));
	char text[64];
	if (!spec || strlen(spec) >= sizeof(text))
		return sv_err(SV_EINVAL,
			      "published port \"%s\": expected [HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|udp]",
			      spec ? spec : "");
	snprintf(text, sizeof(text), "%s", spec);
	char *slash = strchr(text, '/');
	if (slash) {
		*slash++ = '\0';
		if (!strcmp(slash, "udp"))
			out->udp = true;
		else if (strcmp(slash, "tcp"))
			return sv_err(SV_EINVAL, "published port \"%s\": protocol \"%s\" is not tcp or udp",
				      spec, slash);
	}
	char *parts[4];
	int n = 0;
	for (char *rest = text, *p; n < 4 && (p = strsep(&rest, ":"));)
		parts[n++] = p;
	if (n < 2 || n > 3)
		return sv_err(SV_EINVAL,
			      "published port \"%s\": expected [HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|udp]",
			      spec);
	if (n == 3 && !sv_ipv4_parse(parts[0], &out->host_ip))
		return sv_err(SV_EINVAL, "published port \"%s\": host address \"%s\" is not an IPv4 address",
			      spec, parts[0]);
	if (n == 3 && out->host_ip == 0)
		return sv_err(SV_EINVAL,
			      "published port \"%s\": leave 0.0.0.0 out to publish on every address", spec);
	const char *host = parts[n - 2], *guest = parts[n - 1];
	if (!parse_port(host, strlen(host), &out->host_port))
		return sv_err(SV_EINVAL,
			      "published port \"%s\": host port \"%s\" is not a number from 1 to 65535", spec,
			      host);
	if (!parse_port(guest, strlen(guest), &out->guest_port))
		return sv_err(SV_EINVAL,
			      "published port \"%s\": guest port \"%s\" is not a number from 1 to 65535",
			      spec, guest);
	return 0;
}

void sv_port_pub_describe(const sv_port_pub *p, char out[80])
{
	char host[16], guest[16];
	sv_ipv4_format(p->host_ip, host);
	sv_ipv4_format(p->guest_ip, guest);
	snprintf(out, 80, "%s %s:%u -> %s:%u", p->udp ? "udp" : "tcp", host, p->host_port, guest,
		 p->guest_port);
}

bool sv_port_pub_clash(const sv_port_pub *a, const sv_port_pub *b)
{
	return a->udp == b->udp && a->host_port == b->host_port &&
	       (a->host_ip == b->host_ip || a->host_ip == 0 || b->host_ip == 0);
}

static bool id_valid(const char *id)
{
	if (!*id)
		return false;
	for (const char *p = id; *p; p++)
		if (!isgraph((unsigned char)*p) || *p == ',' || *p == '/')
			return false;
	return true;
}

/* The fields shared by the registry line and the ledger argument. */
static bool fill_rec(sv_port_rec *r, const char *proto, const char *host_ip, unsigned host_port,
		     const char *guest_ip, unsigned guest_port)
{
	const char *why;
	if (strcmp(proto, "tcp") && strcmp(proto, "udp"))
		return false;
	r->pub.udp = !strcmp(proto, "udp");
	if (!sv_ipv4_parse(host_ip, &r->pub.host_ip) || !sv_ipv4_parse(guest_ip, &r->pub.guest_ip))
		return false;
	if (!host_port || host_port > 65535 || !guest_port || guest_port > 65535)
		return false;
	r->pub.host_port = (uint16_t)host_port;
	r->pub.guest_port = (uint16_t)guest_port;
	return sv_ifname_valid(r->bridge, &why) && id_valid(r->vm_id);
}

static int push(sv_ports *ports, const sv_port_rec *rec)
{
	sv_port_rec *items = sv_array_grow(ports->items, &ports->cap, ports->n, sizeof(*items), 8);
	if (!items)
		return sv_err(SV_ENOMEM, "out of memory");
	ports->items = items;
	ports->items[ports->n++] = *rec;
	return 0;
}

int sv_ports_parse_line(sv_ports *ports, const char *line)
{
	sv_port_rec r = {0};
	char proto[4], host_ip[16], guest_ip[16];
	unsigned host_port = 0, guest_port = 0;
	int end = 0;
	if (sscanf(line, "port %3s %15s %5u %15s %5u %15s %64s%n", proto, host_ip, &host_port, guest_ip,
		   &guest_port, r.bridge, r.vm_id, &end) != 7 ||
	    line[end] || !fill_rec(&r, proto, host_ip, host_port, guest_ip, guest_port))
		return 0;
	return push(ports, &r) ? SV_ENOMEM : 1;
}

int sv_ports_load(sv_ports *ports, int dirfd, const char *net_dir)
{
	memset(ports, 0, sizeof(*ports));
	char *text = NULL;
	int rc = sv_read_file_at(dirfd, net_dir, PORTS_FILE, 4 << 20, &text, NULL);
	if (rc == SV_ENOTFOUND) {
		sv_err_clear();
		return 0;
	}
	if (rc)
		return rc;
	int lineno = 0, first_bad = 0;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line && !rc;
	     line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		int r = sv_ports_parse_line(ports, line);
		if (r < 0)
			rc = r;
		else if (r == 0 && !ports->n_malformed++)
			first_bad = lineno;
	}
	free(text);
	if (!rc && ports->n_malformed)
		sv_warn("%s/%s: skipped %zu malformed line%s (the first is line %d); the next change of the "
			"published "
			"ports rewrites the file without %s",
			net_dir, PORTS_FILE, ports->n_malformed, ports->n_malformed == 1 ? "" : "s",
			first_bad, ports->n_malformed == 1 ? "it" : "them");
	if (rc)
		sv_ports_free(ports);
	return rc;
}

int sv_ports_save(const sv_ports *ports, int dirfd, const char *net_dir)
{
	if (ports->n == 0) {
		if (unlinkat(dirfd, PORTS_FILE, 0) != 0 && errno != ENOENT)
			return sv_err_errno(SV_EIO, errno, "removing %s/%s", net_dir, PORTS_FILE);
		return 0;
	}
	sv_buf buf = {0};
	int rc = 0;
	for (size_t i = 0; i < ports->n && !rc; i++) {
		const sv_port_rec *r = &ports->items[i];
		char host[16], guest[16], line[160];
		sv_ipv4_format(r->pub.host_ip, host);
		sv_ipv4_format(r->pub.guest_ip, guest);
		int n =
		    snprintf(line, sizeof(line), "port %s %s %u %s %u %s %s\n", r->pub.udp ? "udp" : "tcp",
			     host, r->pub.host_port, guest, r->pub.guest_port, r->bridge, r->vm_id);
		rc = sv_buf_append(&buf, line, (size_t)n);
	}
	if (!rc)
		rc = sv_write_file_atomic_at(dirfd, net_dir, PORTS_FILE, buf.data, buf.len, 0644);
	sv_buf_free(&buf);
	return rc;
}

int sv_ports_add(sv_ports *ports, const sv_port_rec *rec) { return push(ports, rec); }

static bool same_rec(const sv_port_rec *a, const sv_port_rec *b)
{
	return a->pub.udp == b->pub.udp && a->pub.host_ip == b->pub.host_ip &&
	       a->pub.host_port == b->pub.host_port && a->pub.guest_ip == b->pub.guest_ip &&
	       a->pub.guest_port == b->pub.guest_port && !strcmp(a->bridge, b->bridge) &&
	       !strcmp(a->vm_id, b->vm_id);
}

bool sv_ports_remove(sv_ports *ports, const sv_port_rec *rec)
{
	for (size_t i = 0; i < ports->n; i++)
		if (same_rec(&ports->items[i], rec)) {
			memmove(&ports->items[i], &ports->items[i + 1],
				(ports->n - i - 1) * sizeof(*ports->items));
			ports->n--;
			return true;
		}
	return false;
}

const sv_port_rec *sv_ports_clash(const sv_ports *ports, const sv_port_pub *p)
{
	for (size_t i = 0; i < ports->n; i++)
		if (sv_port_pub_clash(&ports->items[i].pub, p))
			return &ports->items[i];
	return NULL;
}

void sv_ports_free(sv_ports *ports)
{
	free(ports->items);
	memset(ports, 0, sizeof(*ports));
}

void sv_port_rec_format(const sv_port_rec *rec, char out[160])
{
	char host[16], guest[16];
	sv_ipv4_format(rec->pub.host_ip, host);
	sv_ipv4_format(rec->pub.guest_ip, guest);
	snprintf(out, 160, "%s,%s,%u,%s,%u,%s,%s", rec->pub.udp ? "udp" : "tcp", host, rec->pub.host_port,
		 guest, rec->pub.guest_port, rec->bridge, rec->vm_id);
}

bool sv_port_rec_parse(sv_port_rec *rec, const char *text)
{
	memset(rec, 0, sizeof(*rec));
	char proto[4], host_ip[16], guest_ip[16];
	unsigned host_port = 0, guest_port = 0;
	int end = 0;
	return text &&
	       sscanf(text, "%3[^,],%15[^,],%5u,%15[^,],%5u,%15[^,],%64[^,]%n", proto, host_ip, &host_port,
		      guest_ip, &guest_port, rec->bridge, rec->vm_id, &end) == 7 &&
	       !text[end] && fill_rec(rec, proto, host_ip, host_port, guest_ip, guest_port);
}
