/* The networking flags of `smartvm run` added with issue 14 (-p/--publish,
 * --allow-vm-to-vm, --allow-host-dns, --wireguard, --netns, --tap), through
 * the CLI with the fake Firecracker: each reaches the library (the firewall's
 * sets and maps, the tunnel, the namespace (also one CNI's bridge plugin
 * made), the TAP), stop removes what it made, and bad input is refused with exit 2 and its exact message
 * before anything is made. What the traffic then does is test_net_firewall's, test_net_wireguard's and
 * test_net_byo's. Runs in namespaces of its own. */
#include "test_net_fixture.h"

#include "net/net_names.h"
#include "net/net_wg.h"
#include <jansson.h>

/* The CLI with the test's directories (and for run the fake Firecracker);
 * returns the exit code; stdout in *out and stderr in *err (malloc'd, or
 * NULL to drop). */
static int cli(svn_dirs *e, char **out, char **err, const char *const *args)
{
	const char *argv[40];
	size_t n = 0;
	argv[n++] = "--data-dir";
	argv[n++] = e->data_dir;
	argv[n++] = "--runtime-dir";
	argv[n++] = e->runtime_dir;
	for (size_t i = 0; args[i]; i++) {
		assert_true(n < 34);
		argv[n++] = args[i];
		/* right after "run", so that a flag left without its value is last */
		if (i == 0 && !strcmp(args[0], "run")) {
			argv[n++] = "--firecracker-bin";
			argv[n++] = svt_fake_firecracker();
			argv[n++] = "--detach";
		}
	}
	argv[n] = NULL;
	char *o = NULL, *x = NULL;
	int code = svt_run_cli(argv, NULL, &o, &x);
	if (out)
		*out = o;
	else
		free(o);
	if (err)
		*err = x;
	else
		free(x);
	return code;
}

/* Runs args, which must succeed. */
static void cli_ok(svn_dirs *e, const char *const *args)
{
	char *err = NULL;
	int code = cli(e, NULL, &err, args);
	if (code != 0)
		fail_msg("smartvm %s exited %d: %s", args[0], code, err);
	free(err);
}

/* A kernel and rootfs file for `run` (the fake reads neither). */
static char *kernel, *rootfs;

static int setup(void **state)
{
	svn_dirs_setup(state);
	svn_dirs *e = *state;
	kernel = svt_write(e->data_dir, "vmlinux", "not a kernel\n");
	rootfs = svt_write(e->data_dir, "rootfs.ext4", "not a filesystem\n");
	return 0;
}

static int teardown(void **state)
{
	free(kernel);
	free(rootfs);
	return svn_dirs_teardown(state);
}

/* `nft list` of one set or map of svbr0's table, "" when it has no element. */
static char *nft_elements(const char *set_or_map, const char *name)
{
	char table[32];
	sv_nft_table_name(table, "svbr0");
	const char *const argv[] = {"nft", "list", set_or_map, "ip", table, name, NULL};
	int code = -1;
	char *out = NULL;
	assert_int_equal(sv_run(argv, NULL, 10000, &code, &out, NULL), 0);
	assert_int_equal(code, 0);
	char *el = strstr(out, "elements = { ");
	char *text = strdup(el ? el + strlen("elements = { ") : "");
	text[strcspn(text, "}")] = '\0';
	free(out);
	return text;
}

static void assert_elements(const char *set_or_map, const char *name, const char *want)
{
	char *got = nft_elements(set_or_map, name);
	if (strcmp(got, want))
		fail_msg("%s %s: \"%s\", expected \"%s\"", set_or_map, name, got, want);
	free(got);
}

/* -p/--publish (repeatable, tcp and udp, with and without a host address),
 * --allow-vm-to-vm and --allow-host-dns reach the firewall; a port another
 * VM publishes is refused by name; stop frees the port. */
static void test_publish_and_allow_flags(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	const char *args[] = {"run",
			      "--kernel",
			      kernel,
			      "--rootfs",
			      rootfs,
			      "--id",
			      "pub",
			      "-p",
			      "8080:80",
			      "--publish",
			      "127.0.0.1:5300:53/udp",
			      "--allow-vm-to-vm",
			      "--allow-host-dns",
			      NULL};
	cli_ok(e, args);
	assert_elements("map", "pub_any_port", "tcp . 8080 : 80 ");
	assert_elements("map", "pub_any_addr", "tcp . 8080 : 172.30.0.2 ");
	assert_elements("map", "pub_ip_port", "127.0.0.1 . udp . 5300 : 53 ");
	assert_elements("set", "vm_open", "172.30.0.2 ");
	assert_elements("set", "dns_ok", "172.30.0.2 ");

	char *err = NULL;
	const char *taken[] = {"run", "--kernel", kernel, "--id", "pub2", "-p", "127.0.0.1:8080:81", NULL};
	assert_int_equal(cli(e, NULL, &err, taken), 1);
	assert_string_equal(err, "smartvm: starting VM \"pub2\": setting up networking of VM \"pub2\": "
				 "net.publish[0] \"127.0.0.1:8080:81\": the host port is published by VM "
				 "\"pub\" (tcp 0.0.0.0:8080 -> 172.30.0.2:80)\n");
	free(err);

	/* Without the flags a VM is closed: in neither set. */
	const char *plain[] = {"run", "--kernel", kernel, "--id", "plain", "--net", NULL};
	cli_ok(e, plain);
	assert_elements("set", "vm_open", "172.30.0.2 ");
	assert_elements("set", "dns_ok", "172.30.0.2 ");

	const char *stop[] = {"stop", "pub", NULL};
	cli_ok(e, stop);
	assert_elements("map", "pub_any_port", "");
	assert_elements("set", "vm_open", "");
	cli_ok(e, taken); /* the port is free again */
	const char *stop2[] = {"stop", "pub2", NULL}, *stop3[] = {"stop", "plain", NULL};
	cli_ok(e, stop2);
	cli_ok(e, stop3);
	svn_assert_all_gone(e->data_dir, "svbr0");
}

/* --netns PATH: the TAP is made in that namespace, nothing of smartvm's
 * bridge anywhere, and stop removes only the TAP. */
static void test_netns_flag(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	svn_user_ns u = svn_user_ns_new();
	const char *run[] = {"run", "--kernel", kernel, "--id", "inns", "--netns", u.path, NULL};
	cli_ok(e, run);
	char *out = NULL;
	const char *inspect[] = {"inspect", "inns", "--json", NULL};
	assert_int_equal(cli(e, &out, NULL, inspect), 0);
	json_t *o = json_loads(out, 0, NULL);
	free(out);
	assert_non_null(o);
	json_t *net = json_array_get(json_object_get(o, "network"), 0);
	char tap[16];
	snprintf(tap, sizeof(tap), "%s", json_string_value(json_object_get(net, "tap_name")));
	assert_string_equal(json_string_value(json_object_get(net, "guest_ip")), "");
	json_decref(o);
	svn_link_query q = {.name = tap};
	assert_int_equal(svn_run_in(u.fd, svn_get_link, &q, 5000), 0);
	assert_false(svn_link_exists(tap));
	assert_false(svn_link_exists("svbr0"));

	const char *stop[] = {"stop", "inns", NULL};
	cli_ok(e, stop);
	assert_int_equal(svn_run_in(u.fd, svn_get_link, &q, 5000), 1);
	svn_user_ns_free(&u);
}

/* The bridge plugin of containernetworking-plugins, as a scheduler runs it:
 * cmd ADD or DEL for container "vm" in the namespace at netns. */
static int cni_bridge(const char *cmd, const char *netns, const char *data_dir)
{
	char conf[512];
	snprintf(conf, sizeof(conf),
		 "{\"cniVersion\": \"1.0.0\", \"name\": \"svtest\", \"type\": \"bridge\", \"bridge\": "
		 "\"cni0\", \"isGateway\": true, \"ipam\": {\"type\": \"host-local\", \"subnet\": "
		 "\"10.22.0.0/24\", \"dataDir\": \"%s/cni\"}}",
		 data_dir);
	setenv("CNI_COMMAND", cmd, 1);
	setenv("CNI_CONTAINERID", "vm", 1);
	setenv("CNI_NETNS", netns, 1);
	setenv("CNI_IFNAME", "eth0", 1);
	setenv("CNI_PATH", "/usr/lib/cni", 1);
	const char *argv[] = {"/usr/lib/cni/bridge", NULL};
	int code = -1;
	char *out = NULL;
	assert_int_equal(sv_run(argv, conf, 20000, &code, &out, NULL), 0);
	if (code != 0)
		print_message("CNI bridge %s exited %d: %s\n", cmd, code, out);
	free(out);
	unsetenv("CNI_COMMAND");
	unsetenv("CNI_CONTAINERID");
	unsetenv("CNI_NETNS");
	unsetenv("CNI_IFNAME");
	unsetenv("CNI_PATH");
	return code;
}

/* --netns with a namespace CNI's bridge plugin made: the TAP joins the
 * plugin's eth0 there; stop takes the TAP and leaves everything of CNI's. */
static void test_netns_made_by_cni(void **state)
{
	svn_dirs *e = *state;
	if (access("/usr/lib/cni/bridge", X_OK) != 0)
		svt_skip(SVT_NEED_PACKAGE, "containernetworking-plugins is not installed (make deps)");
	svn_enter_fresh_netns();
	svn_user_ns u = svn_user_ns_new();
	assert_int_equal(cni_bridge("ADD", u.path, e->data_dir), 0);
	const char *run[] = {"run",  "--kernel",    kernel,
			     "--id", "cnivm",	    "--netns",
			     u.path, "--boot-args", "ip=10.22.0.2::10.22.0.1:255.255.255.0::eth0:off",
			     NULL};
	cli_ok(e, run);
	char tap[16];
	assert_int_equal(sv_net_tap_name(tap, "cnivm", "eth0"), 0);
	svn_link_query q = {.name = tap}, theirs = {.name = "eth0"};
	assert_int_equal(svn_run_in(u.fd, svn_get_link, &q, 5000), 0);
	assert_int_equal(svn_run_in(u.fd, svn_get_link, &theirs, 5000), 0);
	assert_true(svn_link_exists("cni0"));
	assert_false(svn_link_exists("svbr0"));

	const char *stop[] = {"stop", "cnivm", NULL};
	cli_ok(e, stop);
	assert_int_equal(svn_run_in(u.fd, svn_get_link, &q, 5000), 1);
	assert_int_equal(svn_run_in(u.fd, svn_get_link, &theirs, 5000), 0);
	assert_true(svn_link_exists("cni0"));
	assert_int_equal(cni_bridge("DEL", u.path, e->data_dir), 0);
	svn_user_ns_free(&u);
}

/* --tap NAME: an existing TAP is eth0 as it is and outlives the VM; a
 * missing one is named. */
static void test_tap_flag(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	assert_int_equal(svn_make_user_device("mytap0"), 0);
	const char *run[] = {"run", "--kernel", kernel, "--id", "ontap", "--tap", "mytap0", NULL};
	cli_ok(e, run);
	char *out = NULL;
	const char *inspect[] = {"inspect", "ontap", "--json", NULL};
	assert_int_equal(cli(e, &out, NULL, inspect), 0);
	svt_assert_contains(out, "\"tap_name\": \"mytap0\"");
	free(out);
	assert_false(svn_link_exists("svbr0"));
	const char *stop[] = {"stop", "ontap", NULL};
	cli_ok(e, stop);
	assert_true(svn_link_exists("mytap0"));

	char *err = NULL;
	const char *missing[] = {"run", "--kernel", kernel, "--id", "notap", "--tap", "nosuch0", NULL};
	assert_int_equal(cli(e, NULL, &err, missing), 1);
	assert_string_equal(err,
			    "smartvm: starting VM \"notap\": setting up networking of VM \"notap\": "
			    "network_interfaces[0].host_dev_name \"nosuch0\": no such device on the host\n");
	free(err);

	/* Another VM's TAP is no TAP to use as it is: both guests would share
	 * its frames, past the firewall. */
	const char *onbr[] = {"run", "--kernel", kernel, "--id", "onbr", "--net", NULL};
	cli_ok(e, onbr);
	char theirs[16], want[512];
	assert_int_equal(sv_net_tap_name(theirs, "onbr", "eth0"), 0);
	const char *steal[] = {"run", "--kernel", kernel, "--id", "thief", "--tap", theirs, NULL};
	assert_int_equal(cli(e, NULL, &err, steal), 1);
	snprintf(want, sizeof(want),
		 "smartvm: starting VM \"thief\": setting up networking of VM \"thief\": "
		 "network_interfaces[0].host_dev_name \"%s\": already used by VM \"onbr\" (eth0)\n",
		 theirs);
	assert_string_equal(err, want);
	free(err);
	const char *stop_onbr[] = {"stop", "onbr", NULL};
	cli_ok(e, stop_onbr);
}

/* --wireguard FILE (relative to the current directory): the VM's tunnel is up
 * and its address in the tunnel's set while it runs; stop takes both. */
static void test_wireguard_flag(void **state)
{
	svn_dirs *e = *state;
	if (!svn_have_wireguard())
		svt_skip(SVT_NEED_PACKAGE, "wireguard-go is not installed (make deps)");
	svn_enter_fresh_netns();
	char *conf = svt_write(e->data_dir, "wg0.conf",
			       "[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n"
			       "Address = 10.99.0.2/24\n[Peer]\nPublicKey = "
			       "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\nAllowedIPs = 0.0.0.0/0\n");
	char *cwd = getcwd(NULL, 0);
	assert_int_equal(chdir(e->data_dir), 0);
	const char *run[] = {"run", "--kernel", kernel, "--id", "wgvm", "--wireguard", "wg0.conf", NULL};
	char *err = NULL;
	int code = cli(e, NULL, &err, run);
	assert_int_equal(chdir(cwd), 0);
	free(cwd);
	if (code != 0)
		fail_msg("run --wireguard exited %d: %s", code, err);
	free(err);

	char alias[96];
	sv_wg_alias(alias, "wgvm");
	sv_nl_link *links = NULL;
	size_t n = 0;
	char wg[16] = "";
	assert_int_equal(sv_nl_link_list(&links, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(links[i].alias, alias))
			snprintf(wg, sizeof(wg), "%s", links[i].name);
	free(links);
	assert_true(wg[0]);
	assert_elements("set", "wg_vms", "172.30.0.2 ");

	const char *stop[] = {"stop", "wgvm", NULL};
	cli_ok(e, stop);
	assert_false(svn_link_exists(wg));
	char sock[64];
	sv_wg_uapi_path(sock, wg);
	assert_false(sv_path_exists(sock));
	svn_assert_all_gone(e->data_dir, "svbr0");
	free(conf);
}

/* Every flag's bad input: exit 2, the exact message, nothing made. */
static void test_bad_flag_values_are_refused_by_name(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	char *hooks = svt_write(e->data_dir, "hooks.conf", "[Interface]\nPostUp = iptables -F\n");
	char *plain = svt_write(e->data_dir, "plain", "x");
	struct {
		const char *args[6];
		const char *want; /* the first line of stderr */
	} cases[] = {
	    {{"-p", "80"},
	     "smartvm: net.publish[0]: published port \"80\": expected "
	     "[HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|udp]"},
	    {{"--publish", "8080:80/sctp"},
	     "smartvm: net.publish[0]: published port \"8080:80/sctp\": protocol \"sctp\" is not tcp or udp"},
	    {{"-p", "70000:80"},
	     "smartvm: net.publish[0]: published port \"70000:80\": host port \"70000\" is not a number from "
	     "1 "
	     "to 65535"},
	    {{"-p", "1.2.3:80:80"},
	     "smartvm: net.publish[0]: published port \"1.2.3:80:80\": host address \"1.2.3\" is not an IPv4 "
	     "address"},
	    {{"-p", "8080:80", "-p", "8080:81"},
	     "smartvm: net.publish[1] \"8080:81\": takes the same host port as net.publish[0]"},
	    {{"-p", "8080:80", "--wireguard", plain},
	     "smartvm: net.publish: not together with net.wireguard_config (the replies would leave through "
	     "the "
	     "tunnel)"},
	    {{"--wireguard", "/nonexistent/wg0.conf"},
	     "smartvm: net.wireguard_config: WireGuard config: reading /nonexistent/wg0.conf: No such file "
	     "or "
	     "directory"},
	    {{"--wireguard", hooks}, NULL},
	    {{"--netns", "/nonexistent/ns"},
	     "smartvm: net.netns_path \"/nonexistent/ns\": No such file or directory"},
	    {{"--netns", "/proc/self/ns/mnt"},
	     "smartvm: net.netns_path \"/proc/self/ns/mnt\": a namespace, but not a network namespace"},
	    {{"--netns", "/proc/self/ns/net", "-p", "8080:80"},
	     "smartvm: net.publish: needs smartvm's bridge networking; with net.netns_path the network "
	     "belongs "
	     "to its owner"},
	    {{"--tap", "mytap0", "--allow-vm-to-vm"},
	     "smartvm: net.allow_vm_to_vm: needs smartvm's bridge networking; with net.existing_taps the "
	     "network "
	     "belongs to its owner"},
	    {{"--tap", "mytap0", "--net"}, "smartvm run: --tap adds eth0 itself: not with --net or --no-net"},
	    {{"--no-net", "--allow-host-dns"},
	     "smartvm run: --no-net: no interface is left for the other networking flags"},
	    {{"-p"}, "smartvm run: option -p requires an argument"},
	    {{"--wireguard"}, "smartvm run: option --wireguard requires an argument"},
	};
	char want_hooks[512];
	snprintf(want_hooks, sizeof(want_hooks),
		 "smartvm: net.wireguard_config: %s:2: PostUp: hooks are not supported: they are shell "
		 "commands, and smartvm never "
		 "runs a shell",
		 hooks);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const char *args[16] = {"run", "--kernel", kernel, "--id", "bad"};
		size_t n = 5;
		for (size_t j = 0; cases[i].args[j]; j++)
			args[n++] = cases[i].args[j];
		args[n] = NULL;
		char *err = NULL;
		int code = cli(e, NULL, &err, args);
		const char *want = cases[i].want ? cases[i].want : want_hooks;
		err[strcspn(err, "\n")] = '\0';
		if (code != 2 || strcmp(err, want))
			fail_msg("case %zu (%s %s): exit %d, \"%s\"; expected 2, \"%s\"", i, cases[i].args[0],
				 cases[i].args[1] ? cases[i].args[1] : "", code, err, want);
		free(err);
	}
	assert_false(svn_link_exists("svbr0"));
	assert_int_equal(svn_count_taps(), 0);
	char *vm_dir = sv_path_join(e->runtime_dir, "bad");
	assert_false(sv_path_exists(vm_dir));
	free(vm_dir);
	free(hooks);
	free(plain);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_publish_and_allow_flags, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_netns_flag, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_netns_made_by_cni, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tap_flag, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wireguard_flag, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_flag_values_are_refused_by_name, setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
