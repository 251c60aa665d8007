/* Fuzzes the lease file parser (src/net/net_lease.c): lease files are shared
 * by every smartvm process on the host and survive crashes. After a
 * successful parse the in-memory operations run on what was read: the subnet
 * check, an allocation and a removal. Oracles: a lease's strings are
 * terminated within their fields; an allocated address is a guest address of
 * the subnet that no other lease holds. */
#include "fuzz.h"

#include "net/net_lease.h"
#include <string.h>

static void check_strings(const sv_lease *l)
{
	FZ_CHECK(memchr(l->vm_id, '\0', sizeof(l->vm_id)));
	FZ_CHECK(memchr(l->iface_id, '\0', sizeof(l->iface_id)));
	FZ_CHECK(memchr(l->dev, '\0', sizeof(l->dev)));
	FZ_CHECK(memchr(l->mac, '\0', sizeof(l->mac)));
	FZ_CHECK(memchr(l->vm_dir, '\0', sizeof(l->vm_dir)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_cstr(data, size);
	sv_lease_db db;
	memset(&db, 0, sizeof(db));
	db.lock_fd = -1;
	db.lease_path = strdup("/fuzz/net/svbr0.leases");
	FZ_CHECK(db.lease_path);
	int first_bad = 0;
	if (sv_lease_db_parse(&db, text, &first_bad) == 0) {
		FZ_CHECK((db.n_malformed == 0) == (first_bad == 0));
		for (size_t i = 0; i < db.n; i++)
			FZ_CHECK(db.items[i].vm_dir[0] == '\0' || db.items[i].vm_dir[0] == '/');
		for (size_t i = 0; i < db.n; i++) {
			check_strings(&db.items[i]);
			sv_lease_db_find_dev(&db, db.items[i].dev);
		}
		sv_ipv4_net subnet = {.network = 0xac1e0000u, .prefix = 24}; /* 172.30.0.0/24 */
		if (db.has_subnet && db.subnet.prefix >= 1 && db.subnet.prefix <= 30)
			subnet = db.subnet;
		char subnet_text[SV_IPV4_CIDR_MAX + 8];
		char net[16];
		sv_ipv4_format(subnet.network, net);
		snprintf(subnet_text, sizeof(subnet_text), "%s/%d", net, subnet.prefix);
		if (sv_lease_db_check_subnet(&db, &subnet, subnet_text) == 0) {
			size_t before = db.n;
			sv_lease tmpl = {.vm_id = "fuzz", .iface_id = "eth0", .dev = "svtapfuzz"};
			uint32_t ip = 0;
			if (sv_lease_db_alloc(&db, &subnet, &tmpl, &ip) == 0) {
				FZ_CHECK(db.n == before + 1);
				FZ_CHECK(ip >= sv_subnet_first_guest(&subnet) &&
					 ip <= sv_subnet_last_guest(&subnet));
				for (size_t i = 0; i + 1 < db.n; i++)
					FZ_CHECK(db.items[i].ip != ip);
				FZ_CHECK(sv_lease_db_remove(&db, ip, "fuzz", "eth0"));
				FZ_CHECK(db.n == before);
			}
		}
	}
	sv_lease_db_close(&db);
	free(text);
	return 0;
}
