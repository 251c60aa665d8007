/* The per-bridge address lease file and the per-bridge state file, both under
 * <data_dir>/net and guarded by one flock on that directory, so that separate
 * processes never hand out the same address and never race on the shared
 * bridge and nftables table. */
#ifndef SV_NET_NET_LEASE_H
#define SV_NET_NET_LEASE_H

#include "net/net_addr.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A VM directory must fit here (its API socket path is shorter still). */
#define SV_LEASE_VM_DIR_MAX 256

typedef struct {
	uint32_t ip;
	char vm_id[65];
	char iface_id[64];
	char dev[16];
	char mac[18];
	bool dev_owned;                /* we created dev (and delete it) */
	pid_t pid;                     /* the process that set it up */
	unsigned long long start_time; /* its start time, against pid reuse */
	/* The VM's directory, for its liveness (util/vm_alive.h); "" in
	 * records written before it was recorded. */
	char vm_dir[SV_LEASE_VM_DIR_MAX];
} sv_lease;

/* A locked view of one bridge's leases and state. */
typedef struct {
	int lock_fd; /* the net directory, checked and flock'ed */
	char *net_dir;
	char bridge[16];
	char *lease_path;
	char *state_path;
	char lease_name[32], state_name[32]; /* their names in net_dir */
	size_t n_malformed;                  /* lines load skipped; the next save drops them */
	bool has_subnet; /* false while no lease exists */
	sv_ipv4_net subnet;
	sv_lease *items;
	size_t n, cap;
	bool bridge_created; /* state file: smartvm created the bridge */
	bool has_state;      /* the state file exists */
} sv_lease_db;

/* "<data_dir>/net" (malloc'd). */
char *sv_net_dir(const char *data_dir);
/* "<net_dir>/<bridge>.leases" (malloc'd): the lease ledger entry's FILE. */
char *sv_lease_path(const char *net_dir, const char *bridge);

/* "<net_dir>/<bridge>.leases" back into net_dir (malloc'd) and bridge; false
 * when the file name is not a valid bridge name plus ".leases". */
bool sv_lease_path_split(const char *lease_file, char **net_dir, char bridge[16]);

/* Creates net_dir if needed, checks it as a trusted directory (SV_EUNSAFE
 * otherwise), takes its flock (waiting at most 30 s) and loads the bridge's
 * leases and state; malformed lines are skipped and reported through the
 * log. Close with sv_lease_db_close. */
int sv_lease_db_open(sv_lease_db *db, const char *net_dir, const char *bridge);
/* The same without creating net_dir: SV_ENOTFOUND (no message) if absent. */
int sv_lease_db_open_existing(sv_lease_db *db, const char *net_dir, const char *bridge);

/* Parses the text of a lease file (modified in place) into db's subnet and
 * items; lines that do not parse are counted in db->n_malformed, the number
 * of the first in *first_bad. 0 or SV_ENOMEM. The one parser of lease files
 * (a fuzz target: start from a zeroed db, free db->items after). */
int sv_lease_db_parse(sv_lease_db *db, char *text, int *first_bad);
void sv_lease_db_close(sv_lease_db *db);

/* Writes the lease file atomically (removed when no lease is left). */
int sv_lease_db_save(sv_lease_db *db);
/* Writes (or with !exists removes) the state file. */
int sv_lease_db_save_state(sv_lease_db *db, bool exists, bool bridge_created);

/* Checks that the leases were made with this subnet (or that none exist). */
int sv_lease_db_check_subnet(sv_lease_db *db, const sv_ipv4_net *subnet, const char *subnet_text);

/* Picks the lowest free guest address of subnet and adds the lease (copied
 * from tmpl, whose ip is ignored). SV_EBUSY when the subnet is full or
 * another lease on the bridge has tmpl's MAC. */
int sv_lease_db_alloc(sv_lease_db *db, const sv_ipv4_net *subnet, const sv_lease *tmpl, uint32_t *ip_out);

/* Removes the lease of (ip, vm_id, iface_id); false if there was none. */
bool sv_lease_db_remove(sv_lease_db *db, uint32_t ip, const char *vm_id, const char *iface_id);

/* The lease using device dev, or NULL. */
const sv_lease *sv_lease_db_find_dev(const sv_lease_db *db, const char *dev);

/* The bridges that have smartvm state under net_dir (a lease or state file);
 * NULL-terminated malloc'd vector (free with sv_strv_free). */
int sv_lease_list_bridges(const char *net_dir, char ***out);

#endif
