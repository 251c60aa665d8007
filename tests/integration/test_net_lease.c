/* Address leases across processes: the flock on the net directory is what
 * keeps addresses unique. No root needed (only files are involved). */
#include "svtest.h"

#include "net/net_addr.h"
#include "net/net_lease.h"
#include "util/file.h"
#include "util/spawn.h"
#include <signal.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

enum { PROCS = 4, PER_PROC = 20 };

/* One lease per call: open (lock), allocate, save, close, as setup does. */
static int allocate_many(const char *net_dir, int proc, int start_fd)
{
	char go;
	if (read(start_fd, &go, 1) != 1)
		return 2;
	sv_ipv4_net net;
	if (sv_subnet_parse("172.30.0.0/24", &net))
		return 3;
	for (int i = 0; i < PER_PROC; i++) {
		sv_lease_db db;
		if (sv_lease_db_open(&db, net_dir, "svbr0"))
			return 4;
		sv_lease l = { .pid = getpid() };
		snprintf(l.vm_id, sizeof(l.vm_id), "p%d-vm%d", proc, i);
		snprintf(l.iface_id, sizeof(l.iface_id), "eth0");
		snprintf(l.dev, sizeof(l.dev), "tap%d-%d", proc, i);
		snprintf(l.mac, sizeof(l.mac), "06:00:00:00:%02x:%02x", proc, i);
		uint32_t ip;
		int rc = sv_lease_db_check_subnet(&db, &net, "172.30.0.0/24") || sv_lease_db_alloc(&db, &net, &l, &ip) ||
			 sv_lease_db_save(&db);
		sv_lease_db_close(&db);
		if (rc)
			return 5;
	}
	return 0;
}

static void test_four_processes_never_share_an_address(void **state)
{
	(void)state;
	char *data_dir = svt_tmpdir();
	char *net_dir = sv_net_dir(data_dir);
	int start[2];
	assert_int_equal(pipe2(start, O_CLOEXEC), 0);
	pid_t pids[PROCS];
	for (int p = 0; p < PROCS; p++) {
		pids[p] = fork();
		assert_true(pids[p] >= 0);
		if (pids[p] == 0) {
			close(start[1]);
			_exit(allocate_many(net_dir, p, start[0]));
		}
	}
	close(start[0]);
	/* Release all four at once. */
	assert_int_equal(write(start[1], "gggg", PROCS), PROCS);
	close(start[1]);
	for (int p = 0; p < PROCS; p++) {
		int status = 0;
		if (sv_reap(pids[p], 30000, &status) != 0) {
			kill(pids[p], SIGKILL);
			sv_reap(pids[p], 5000, &status);
			fail_msg("allocator %d did not finish", p);
		}
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}

	sv_lease_db db;
	assert_int_equal(sv_lease_db_open(&db, net_dir, "svbr0"), 0);
	assert_int_equal(db.n, PROCS * PER_PROC);
	/* 80 distinct addresses, exactly .2 to .81 (lowest free first). */
	bool seen[256] = { 0 };
	for (size_t i = 0; i < db.n; i++) {
		uint32_t host = db.items[i].ip & 0xff;
		assert_int_equal(db.items[i].ip & 0xffffff00u, 0xac1e0000u);
		assert_false(seen[host]);
		seen[host] = true;
	}
	for (int h = 2; h < 2 + PROCS * PER_PROC; h++)
		assert_true(seen[h]);
	sv_lease_db_close(&db);
	free(net_dir);
	svt_rm_tmpdir(data_dir);
}

static void test_released_address_is_handed_out_again(void **state)
{
	(void)state;
	char *data_dir = svt_tmpdir();
	char *net_dir = sv_net_dir(data_dir);
	sv_ipv4_net net;
	assert_int_equal(sv_subnet_parse("10.0.0.0/29", &net), 0);
	sv_lease_db db;
	assert_int_equal(sv_lease_db_open(&db, net_dir, "br1"), 0);
	assert_int_equal(sv_lease_db_check_subnet(&db, &net, "10.0.0.0/29"), 0);
	uint32_t ips[3];
	for (int i = 0; i < 3; i++) {
		sv_lease l = { 0 };
		snprintf(l.vm_id, sizeof(l.vm_id), "vm%d", i);
		strcpy(l.iface_id, "eth0");
		strcpy(l.dev, "x");
		strcpy(l.mac, "06:00:00:00:00:00");
		assert_int_equal(sv_lease_db_alloc(&db, &net, &l, &ips[i]), 0);
	}
	assert_true(sv_lease_db_remove(&db, ips[1], "vm1", "eth0"));
	assert_false(sv_lease_db_remove(&db, ips[1], "vm1", "eth0"));
	assert_false(sv_lease_db_remove(&db, ips[0], "vm9", "eth0"));
	assert_int_equal(sv_lease_db_save(&db), 0);
	sv_lease_db_close(&db);

	assert_int_equal(sv_lease_db_open(&db, net_dir, "br1"), 0);
	assert_int_equal(db.n, 2);
	sv_lease l = { 0 };
	strcpy(l.vm_id, "vm3");
	strcpy(l.iface_id, "eth0");
	uint32_t again;
	assert_int_equal(sv_lease_db_alloc(&db, &net, &l, &again), 0);
	assert_int_equal(again, ips[1]);
	/* Removing every lease removes the file too. */
	db.n = 0;
	assert_int_equal(sv_lease_db_save(&db), 0);
	sv_lease_db_close(&db);
	assert_int_equal(svt_dir_entries(net_dir), 0);
	free(net_dir);
	svt_rm_tmpdir(data_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_four_processes_never_share_an_address),
		cmocka_unit_test(test_released_address_is_handed_out_again),
	};
	return svt_run_group(tests, NULL, NULL);
}
