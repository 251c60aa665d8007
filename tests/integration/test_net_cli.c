/* `smartvm run --net` with the fake Firecracker: the VM gets a TAP, an address
 * and a MAC that `inspect` shows, and `stop` removes all of it. Runs in a
 * network namespace of its own. */
#include "test_net_fixture.h"

#include <jansson.h>

typedef struct {
	char *tmp;
	char *data_dir, *runtime_dir;
	char *kernel, *rootfs;
} env;

static int setup(void **state)
{
	env *e = calloc(1, sizeof(*e));
	e->tmp = svt_tmpdir();
	e->data_dir = sv_path_join(e->tmp, "data");
	e->runtime_dir = sv_path_join(e->tmp, "rt");
	e->kernel = svt_write(e->tmp, "vmlinux", "not really a kernel\n");
	e->rootfs = svt_write(e->tmp, "rootfs.ext4", "not really a filesystem\n");
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	env *e = *state;
	free(e->data_dir);
	free(e->runtime_dir);
	free(e->kernel);
	free(e->rootfs);
	svt_rm_tmpdir(e->tmp);
	free(e);
	return 0;
}

/* Runs the CLI with the test's directories; returns the exit code, and the
 * output in *out (malloc'd). */
static int cli(env *e, char **out, const char *const *args)
{
	const char *argv[32] = { "--data-dir", e->data_dir, "--runtime-dir", e->runtime_dir };
	size_t n = 4;
	for (size_t i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	char *err = NULL;
	int code = svt_run_cli(argv, NULL, out, &err);
	if (code != 0)
		print_message("smartvm %s exited %d: %s\n", args[0], code, err ? err : "");
	free(err);
	return code;
}

static void test_run_net_gives_the_vm_a_tap_address_and_mac(void **state)
{
	env *e = *state;
	svn_enter_fresh_netns();
	char *out = NULL;
	const char *run[] = { "run", "--kernel", e->kernel, "--rootfs", e->rootfs, "--id", "netvm", "--net",
			      "--egress-rule", "deny:10.0.0.0/8:tcp:22", "--egress-default", "allow",
			      "--firecracker-bin", svt_fake_firecracker(), "--detach", NULL };
	assert_int_equal(cli(e, &out, run), 0);
	free(out);

	const char *inspect[] = { "inspect", "netvm", "--json", NULL };
	assert_int_equal(cli(e, &out, inspect), 0);
	json_t *o = json_loads(out, 0, NULL);
	assert_non_null(o);
	json_t *net = json_array_get(json_object_get(o, "network"), 0);
	const char *tap = json_string_value(json_object_get(net, "tap_name"));
	assert_non_null(tap);
	assert_int_equal(strncmp(tap, "svt", 3), 0);
	assert_string_equal(json_string_value(json_object_get(net, "guest_ip")), "172.30.0.2");
	assert_int_equal(strncmp(json_string_value(json_object_get(net, "mac")), "06:", 3), 0);
	char tap_name[16];
	snprintf(tap_name, sizeof(tap_name), "%s", tap);
	json_decref(o);
	free(out);

	sv_nl_link t, br;
	assert_int_equal(sv_nl_link_get(tap_name, &t), 0);
	assert_int_equal(sv_nl_link_get("svbr0", &br), 0);
	assert_int_equal(t.master, br.index);
	assert_true(svn_table_exists("svbr0"));

	const char *ls[] = { "net", "ls", NULL };
	assert_int_equal(cli(e, &out, ls), 0);
	if (!strstr(out, "172.30.0.2") || !strstr(out, "netvm") || !strstr(out, "running"))
		fail_msg("net ls:\n%s", out);
	free(out);

	/* `net down` refuses while the VM holds its lease, naming it. */
	const char *down[] = { "--data-dir", e->data_dir, "--runtime-dir", e->runtime_dir, "net", "down", NULL };
	char *err = NULL;
	assert_int_equal(svt_run_cli(down, NULL, &out, &err), 1);
	assert_string_equal(out, "took down 0 bridges\n");
	svt_assert_contains(err, "bridge svbr0: still in use by VM \"netvm\" (eth0); stop it first");
	free(out);
	free(err);
	assert_true(svn_table_exists("svbr0"));

	const char *stop[] = { "stop", "netvm", NULL };
	assert_int_equal(cli(e, &out, stop), 0);
	free(out);
	/* The bridge stays after the last VM, until `net down`. */
	assert_true(svn_link_exists("svbr0"));
	const char *down_json[] = { "net", "down", "--bridge", "svbr0", "--json", NULL };
	assert_int_equal(cli(e, &out, down_json), 0);
	assert_string_equal(out, "{\"down\": 1}\n");
	free(out);
	svn_assert_nothing_made(e->data_dir, "svbr0");
}

/* --egress-rule is repeatable: every rule reaches the table, in the order
 * given, before the default. (Each rule's destination once pointed into an
 * array that the next --egress-rule reallocated.) */
static void test_run_applies_repeated_egress_rules_in_order(void **state)
{
	env *e = *state;
	svn_enter_fresh_netns();
	char *out = NULL;
	const char *run[] = { "run", "--kernel", e->kernel, "--rootfs", e->rootfs, "--id", "rules", "--net",
			      "--egress-rule", "deny:10.0.0.0/8:tcp:22-80", "--egress-rule", "allow:0.0.0.0/0:icmp",
			      "--egress-rule", "allow:192.0.2.7/32:udp:53", "--egress-rule", "deny:198.51.100.0/24",
			      "--egress-default", "deny", "--firecracker-bin", svt_fake_firecracker(), "--detach", NULL };
	assert_int_equal(cli(e, &out, run), 0);
	free(out);

	char *rules = svn_forward_rules("svbr0");
	assert_string_equal(rules, "iifname \"svbr0\" ip saddr 172.30.0.0/24 ip daddr 10.0.0.0/8 tcp dport 22-80 drop\n"
				   "iifname \"svbr0\" ip saddr 172.30.0.0/24 meta l4proto icmp accept\n"
				   "iifname \"svbr0\" ip saddr 172.30.0.0/24 ip daddr 192.0.2.7 udp dport 53 accept\n"
				   "iifname \"svbr0\" ip saddr 172.30.0.0/24 ip daddr 198.51.100.0/24 drop\n"
				   "iifname \"svbr0\" ip saddr 172.30.0.0/24 drop\n");
	free(rules);

	const char *stop[] = { "stop", "rules", NULL };
	assert_int_equal(cli(e, &out, stop), 0);
	free(out);
	svn_assert_all_gone(e->data_dir, "svbr0");
}

/* Appends text to the file at path. */
static void append(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Malformed lines in a lease file: `net ls` shows the valid leases and warns
 * once, `net gc` writes the file back without the bad lines, and the next
 * `run --net` on the bridge works. (One bad line once blocked all three.) */
static void test_malformed_lease_lines_are_skipped_and_gc_repairs_the_file(void **state)
{
	env *e = *state;
	svn_enter_fresh_netns();
	char *out = NULL, *err = NULL;
	const char *run_a[] = { "run", "--kernel", e->kernel, "--rootfs", e->rootfs, "--id", "a", "--net",
				"--firecracker-bin", svt_fake_firecracker(), "--detach", NULL };
	assert_int_equal(cli(e, &out, run_a), 0);
	free(out);
	char *leases = sv_path_join(e->data_dir, "net/svbr0.leases"), *good = NULL;
	assert_int_equal(sv_read_file(leases, 1 << 16, &good, NULL), 0);
	append(leases, "lease 172.30.0.9 half a line\n"
		       "lease 172.30.0.10 vm-with-a-very-long-name-that-runs-past-the-sixty-four-bytes-of-an-id eth0 "
		       "svt000000000001 06:00:00:00:00:01 1 0 0\n"
		       "lease 172.30.0.11 b eth0 bad/dev 06:00:00:00:00:02 1 0 0\n"
		       "\x01\x02 binary junk\n");

	const char *ls[] = { "--data-dir", e->data_dir, "--runtime-dir", e->runtime_dir, "net", "ls", NULL };
	assert_int_equal(svt_run_cli(ls, NULL, &out, &err), 0);
	if (!strstr(out, "172.30.0.2") || !strstr(out, " a ") || strstr(out, "172.30.0.9"))
		fail_msg("net ls:\n%s", out);
	char want[512];
	snprintf(want, sizeof(want), "%s: skipped 4 malformed lines (the first is line 3); the next change of the "
				     "bridge's leases, or `smartvm net gc`, rewrites the file without them\n", leases);
	svt_assert_contains(err, want);
	/* Reported once, not once per line or per read. */
	assert_null(strstr(strstr(err, want) + strlen(want), "malformed"));
	free(out);
	free(err);

	const char *gc[] = { "--data-dir", e->data_dir, "--runtime-dir", e->runtime_dir, "net", "gc", NULL };
	assert_int_equal(svt_run_cli(gc, NULL, &out, &err), 0);
	assert_string_equal(out, "removed 0 leases of dead VMs\n");
	free(out);
	free(err);
	char *now = NULL;
	assert_int_equal(sv_read_file(leases, 1 << 16, &now, NULL), 0);
	assert_string_equal(now, good);
	free(now);

	const char *run_b[] = { "run", "--kernel", e->kernel, "--rootfs", e->rootfs, "--id", "b", "--net",
				"--firecracker-bin", svt_fake_firecracker(), "--detach", NULL };
	assert_int_equal(cli(e, &out, run_b), 0);
	free(out);
	const char *inspect[] = { "inspect", "b", "--json", NULL };
	assert_int_equal(cli(e, &out, inspect), 0);
	svt_assert_contains(out, "\"guest_ip\": \"172.30.0.3\"");
	free(out);
	for (const char *const *id = (const char *const[]){ "a", "b", NULL }; *id; id++) {
		const char *stop[] = { "stop", *id, NULL };
		assert_int_equal(cli(e, &out, stop), 0);
		free(out);
	}
	svn_assert_all_gone(e->data_dir, "svbr0");
	free(good);
	free(leases);
}

static void test_run_no_net_drops_the_config_interfaces(void **state)
{
	env *e = *state;
	svn_enter_fresh_netns();
	char json[1024];
	snprintf(json, sizeof(json),
		 "{\"boot-source\": {\"kernel_image_path\": \"%s\"},"
		 " \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64},"
		 " \"network-interfaces\": [{\"iface_id\": \"eth0\"}]}",
		 e->kernel);
	char *path = svt_write(e->tmp, "cfg.json", json);
	char *out = NULL;
	const char *run[] = { "run", "--config", path, "--id", "nonet", "--no-net", "--firecracker-bin",
			      svt_fake_firecracker(), "--detach", NULL };
	assert_int_equal(cli(e, &out, run), 0);
	free(out);
	assert_false(svn_link_exists("svbr0"));
	assert_int_equal(svn_count_taps(), 0);
	const char *stop[] = { "stop", "nonet", NULL };
	assert_int_equal(cli(e, &out, stop), 0);
	free(out);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_run_net_gives_the_vm_a_tap_address_and_mac, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_applies_repeated_egress_rules_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_lease_lines_are_skipped_and_gc_repairs_the_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_run_no_net_drops_the_config_interfaces, setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
