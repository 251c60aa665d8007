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
		snprintf(l.dev, sizeof(l.dev), "tap%d", i);
		snprintf(l.mac, sizeof(l.mac), "06:00:00:00:00:%02x", i);
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
	strcpy(l.dev, "tap3");
	strcpy(l.mac, "06:00:00:00:00:03");
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

/* Writes a lease file for bridge svbr0 in a fresh data dir's net dir. */
static char *net_dir_with_leases(char **data_dir, const char *text)
{
	*data_dir = svt_tmpdir();
	char *net_dir = sv_net_dir(*data_dir);
	assert_int_equal(sv_mkdir_p(net_dir, 0755), 0);
	free(svt_write(net_dir, "svbr0.leases", text));
	return net_dir;
}

static char *read_leases(const char *net_dir)
{
	char *path = sv_path_join(net_dir, "svbr0.leases"), *text = NULL;
	assert_int_equal(sv_read_file(path, 1 << 16, &text, NULL), 0);
	free(path);
	return text;
}

/* Bad lines are skipped, the good ones around them kept, and a save writes
 * the good ones back alone. (The first bad line once failed every open.) */
static void test_malformed_lines_are_skipped_and_valid_ones_kept(void **state)
{
	(void)state;
	const char *valid1 = "lease 172.30.0.2 web eth0 svt0123456789ab 06:01:02:03:04:05 1 0 0\n";
	const char *valid2 = "lease 172.30.0.4 db eth1 vh0 02:aa:bb:cc:dd:ee 0 0 0\n";
	char *data_dir = NULL;
	char *text = NULL;
	if (asprintf(&text,
		     "subnet 172.30.0.0/24\n"
		     "%s"
		     "lease 172.30.0.3 cut short\n"                                          /* too few fields */
		     "lease 172.30.0.5 x eth0 tap5 06:00:00:00:00:05 1 0 0 extra\n"           /* too many */
		     "lease 172.30.0.6 x eth0 tap6 06:00:00:00:00:06 yes 0 0\n"               /* owned not 0|1 */
		     "lease 172.30.0.7 x eth0 tap/7 06:00:00:00:00:07 1 0 0\n"                /* not an ifname */
		     "lease 172.30.0.8 x eth0 tap8 07:00:00:00:00:08 1 0 0\n"                 /* multicast MAC */
		     "lease 172.30.0.9 a,b eth0 tap9 06:00:00:00:00:09 1 0 0\n"               /* ',' in an id */
		     "lease 172.30.0.010 x eth0 tap10 06:00:00:00:00:10 1 0 0\n"              /* octal-looking IP */
		     "lease 172.30.0.11 %s eth0 tap11 06:00:00:00:00:11 1 0 0\n"              /* id of 65 bytes */
		     "\x01\x02\x03\n"
		     "%s",
		     valid1, "vm-id-of-sixty-five-bytes-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", valid2) < 0)
		fail();
	char *net_dir = net_dir_with_leases(&data_dir, text);
	sv_lease_db db;
	assert_int_equal(sv_lease_db_open(&db, net_dir, "svbr0"), 0);
	assert_int_equal(db.n, 2);
	assert_string_equal(db.items[0].vm_id, "web");
	assert_string_equal(db.items[1].dev, "vh0");
	assert_false(db.items[1].dev_owned);
	assert_int_equal(sv_lease_db_save(&db), 0);
	sv_lease_db_close(&db);
	char *now = read_leases(net_dir), *want = NULL;
	assert_true(asprintf(&want, "subnet 172.30.0.0/24\n%s%s", valid1, valid2) > 0);
	assert_string_equal(now, want);
	free(want);
	free(now);
	free(text);
	free(net_dir);
	svt_rm_tmpdir(data_dir);
}

/* Without a (valid) subnet line, the next VM's subnet is taken only if every
 * lease lies in it; the save then writes it. */
static void test_leases_without_a_subnet_line_take_a_subnet_that_fits(void **state)
{
	(void)state;
	char *data_dir = NULL;
	char *net_dir = net_dir_with_leases(&data_dir, "subnet 172.30.0.5/24\n"
							"lease 172.30.0.2 web eth0 tapw 06:01:02:03:04:05 1 0 0\n");
	sv_lease_db db;
	assert_int_equal(sv_lease_db_open(&db, net_dir, "svbr0"), 0);
	assert_int_equal(db.n, 1);
	sv_ipv4_net other, right;
	assert_int_equal(sv_subnet_parse("10.0.0.0/24", &other), 0);
	assert_int_equal(sv_subnet_parse("172.30.0.0/24", &right), 0);
	assert_int_equal(sv_lease_db_check_subnet(&db, &other, "10.0.0.0/24"), SV_EBUSY);
	assert_string_equal(sv_last_error(), "subnet \"10.0.0.0/24\": bridge svbr0 has a lease of 172.30.0.2 outside it");
	assert_int_equal(sv_lease_db_check_subnet(&db, &right, "172.30.0.0/24"), 0);
	assert_int_equal(sv_lease_db_save(&db), 0);
	sv_lease_db_close(&db);
	char *now = read_leases(net_dir);
	assert_string_equal(now, "subnet 172.30.0.0/24\nlease 172.30.0.2 web eth0 tapw 06:01:02:03:04:05 1 0 0\n");
	free(now);
	free(net_dir);
	svt_rm_tmpdir(data_dir);
}

/* Leases with the longest ids and numbers round-trip. (The file was built in
 * a buffer sized at 200 bytes a lease; these lines are longer.) */
static void test_longest_leases_round_trip(void **state)
{
	(void)state;
	enum { N = 12 };
	char *data_dir = svt_tmpdir();
	char *net_dir = sv_net_dir(data_dir);
	sv_ipv4_net net;
	assert_int_equal(sv_subnet_parse("10.0.0.0/8", &net), 0);
	sv_lease_db db;
	assert_int_equal(sv_lease_db_open(&db, net_dir, "exactly15bytes."), 0);
	assert_int_equal(sv_lease_db_check_subnet(&db, &net, "10.0.0.0/8"), 0);
	for (int i = 0; i < N; i++) {
		sv_lease l = { .dev_owned = true, .pid = 2147483647, .start_time = 18446744073709551615ull };
		snprintf(l.vm_id, sizeof(l.vm_id), "%02d%062d", i, 0);
		memset(l.iface_id, 'i', sizeof(l.iface_id) - 1);
		snprintf(l.dev, sizeof(l.dev), "tap-name-%06d", i);
		snprintf(l.mac, sizeof(l.mac), "06:00:00:00:00:%02x", i);
		uint32_t ip;
		assert_int_equal(sv_lease_db_alloc(&db, &net, &l, &ip), 0);
	}
	assert_int_equal(sv_lease_db_save(&db), 0);
	sv_lease_db_close(&db);
	assert_int_equal(sv_lease_db_open(&db, net_dir, "exactly15bytes."), 0);
	assert_int_equal(db.n, N);
	assert_int_equal(db.n_malformed, 0);
	for (int i = 0; i < N; i++) {
		char want[65];
		snprintf(want, sizeof(want), "%02d%062d", i, 0);
		assert_string_equal(db.items[i].vm_id, want);
		assert_int_equal(strlen(db.items[i].iface_id), 63);
		assert_int_equal(db.items[i].start_time, 18446744073709551615ull);
	}
	sv_lease_db_close(&db);
	free(net_dir);
	svt_rm_tmpdir(data_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_four_processes_never_share_an_address),
		cmocka_unit_test(test_released_address_is_handed_out_again),
		cmocka_unit_test(test_malformed_lines_are_skipped_and_valid_ones_kept),
		cmocka_unit_test(test_leases_without_a_subnet_line_take_a_subnet_that_fits),
		cmocka_unit_test(test_longest_leases_round_trip),
	};
	return svt_run_group(tests, NULL, NULL);
}
