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

	const char *stop[] = { "stop", "netvm", NULL };
	assert_int_equal(cli(e, &out, stop), 0);
	free(out);
	svn_assert_all_gone(e->data_dir, "svbr0");
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
		cmocka_unit_test_setup_teardown(test_run_no_net_drops_the_config_interfaces, setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
