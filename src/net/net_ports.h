/* Published ports: "[HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|udp]" parsed into a
 * forward from the host to a VM's address, and the host-wide registry of
 * the ports in use, <data_dir>/net/ports, read and written only while the
 * lease lock (the flock on that directory) is held, so two VMs (of any
 * process, on any bridge) never publish the same host port.
 *
 * Registry format, one port a line:
 *   port <tcp|udp> <host_ip> <host_port> <guest_ip> <guest_port> <bridge> <vm_id>
 * (host_ip 0.0.0.0 = every local address). Lines that do not parse are
 * skipped, reported and dropped by the next save, as in lease files. */
#ifndef SV_NET_NET_PORTS_H
#define SV_NET_NET_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	bool udp;	  /* else tcp */
	uint32_t host_ip; /* host order; 0 = every local address */
	uint16_t host_port;
	uint16_t guest_port;
	uint32_t guest_ip; /* filled in at setup */
} sv_port_pub;

/* Parses a spec; SV_EINVAL with a message quoting it. */
int sv_port_pub_parse(sv_port_pub *out, const char *spec);

/* "tcp 0.0.0.0:8080 -> 172.30.0.2:80" for messages. */
void sv_port_pub_describe(const sv_port_pub *p, char out[80]);

/* Whether two ports take the same host port (same protocol and port, and
 * the same address or either one on every address). */
bool sv_port_pub_clash(const sv_port_pub *a, const sv_port_pub *b);

typedef struct {
	sv_port_pub pub;
	char bridge[16];
	char vm_id[65];
} sv_port_rec;

typedef struct {
	sv_port_rec *items;
	size_t n, cap;
	size_t n_malformed;
} sv_ports;

/* The registry line parser (a fuzz target): appends to ports; 1, 0 when the
 * line is malformed (ports unchanged), or SV_ENOMEM. */
int sv_ports_parse_line(sv_ports *ports, const char *line);

/* Loads <net_dir>/ports through dirfd (the locked net directory); an absent
 * file is an empty registry. */
int sv_ports_load(sv_ports *ports, int dirfd, const char *net_dir);
/* Writes it atomically (removed when empty). */
int sv_ports_save(const sv_ports *ports, int dirfd, const char *net_dir);
int sv_ports_add(sv_ports *ports, const sv_port_rec *rec);
/* Removes the record equal to rec; false if there was none. */
bool sv_ports_remove(sv_ports *ports, const sv_port_rec *rec);
/* The record whose host port p would take, or NULL. */
const sv_port_rec *sv_ports_clash(const sv_ports *ports, const sv_port_pub *p);
void sv_ports_free(sv_ports *ports);

/* A record as one ledger argument, "tcp,0.0.0.0,8080,172.30.0.2,80,BRIDGE,VM",
 * and back (false when malformed). */
void sv_port_rec_format(const sv_port_rec *rec, char out[160]);
bool sv_port_rec_parse(sv_port_rec *rec, const char *text);

#endif
