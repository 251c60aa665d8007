/* Networking of real QEMU guests (TCG) inside a network namespace this test
 * process makes for itself: a bridge with the gateway address and one TAP per
 * guest. The guest applies ip= from its command line and pings the gateway.
 * No traffic leaves the namespace; the TAPs are deleted afterwards and the
 * namespace dies with the process. */
#include "svtest.h"
#include "qemu_fixture.h"

#include "util/spawn.h"
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BOOT_TIMEOUT_MS 90000
#define BRIDGE "svqbr0"
#define GATEWAY "172.31.0.1"

static bool in_netns;

static const char *ip_tool(void)
{
	return access("/usr/sbin/ip", X_OK) == 0 ? "/usr/sbin/ip" : "/sbin/ip";
}

static void ip(const char *const *args)
{
	const char *argv[16] = { ip_tool() };
	size_t n = 1;
	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	int code = -1;
	char *err = NULL;
	assert_int_equal(sv_run(argv, NULL, 10000, &code, NULL, &err), 0);
	if (code != 0)
		fail_msg("ip %s: %s", args[0], err);
	free(err);
}

static int make_namespace(void **state)
{
	(void)state;
	if (!svt_is_root())
		return 0;
	if (unshare(CLONE_NEWNET) != 0)
		return 0;
	in_netns = true;
	ip((const char *[]){ "link", "set", "lo", "up", NULL });
	ip((const char *[]){ "link", "add", BRIDGE, "type", "bridge", NULL });
	ip((const char *[]){ "addr", "add", GATEWAY "/24", "dev", BRIDGE, NULL });
	ip((const char *[]){ "link", "set", BRIDGE, "up", NULL });
	return 0;
}

static void add_tap(const char *name)
{
	ip((const char *[]){ "tuntap", "add", "dev", name, "mode", "tap", NULL });
	ip((const char *[]){ "link", "set", name, "master", BRIDGE, "up", NULL });
}

static void del_tap(const char *name)
{
	ip((const char *[]){ "link", "del", name, NULL });
}

static int count_links(void)
{
	const char *argv[] = { ip_tool(), "-o", "link", "show", NULL };
	char *out = NULL;
	int code = -1;
	assert_int_equal(sv_run(argv, NULL, 10000, &code, &out, NULL), 0);
	int n = 0;
	for (char *p = out; (p = strchr(p, '\n')); p++)
		n++;
	free(out);
	return n;
}

static const svq_image *image(void)
{
	const svq_image *img = svq_image_or_skip();
	if (!in_netns) {
		svt_skip(SVT_NEED_NETNS, "could not make a network namespace");
	}
	return img;
}

#define GUEST_NET_CMD \
	"ip -4 addr show dev eth0 | grep -o 'inet [0-9./]*'; ping -c 1 -W 5 " GATEWAY " >/dev/null && echo reached"

static char *net_args(const svq_image *img, int host)
{
	const char *cmd[] = { "sh", "-c", GUEST_NET_CMD, NULL };
	char extra[128];
	snprintf(extra, sizeof(extra), "ip=172.31.0.%d::" GATEWAY ":255.255.255.0:guest%d:eth0:off", host, host);
	return svq_boot_args(img, cmd, extra);
}

static void add_nic(svq_config *c, const char *tap, const char *mac)
{
	c->nets[0] = (sv_net_iface_config){ .iface_id = "eth0", .host_dev_name = tap, .guest_mac = mac };
	c->cfg.n_network_interfaces = 1;
}

static void test_guest_gets_its_address_and_reaches_the_gateway(void **state)
{
	(void)state;
	const svq_image *img = image();
	int links_before = count_links();
	add_tap("svqtap0");
	char *args = net_args(img, 2);
	svq_config c;
	svq_config_init(&c, img, args, false);
	add_nic(&c, "svqtap0", "06:00:ac:1f:00:02");
	svq_vm vm;
	svq_boot(&vm, &c.cfg, "vm-net");
	char *out = NULL;
	assert_int_equal(svq_wait_exit(&vm, BOOT_TIMEOUT_MS, &out), 0);
	assert_string_equal(out, "inet 172.31.0.2/24\nreached\n");
	free(out);
	svq_destroy(&vm);
	del_tap("svqtap0");
	assert_int_equal(count_links(), links_before);
	free(args);
}

static void test_three_vms_at_once_have_distinct_addresses(void **state)
{
	(void)state;
	const svq_image *img = image();
	int links_before = count_links();
	const char *taps[3] = { "svqtap1", "svqtap2", "svqtap3" };
	const char *macs[3] = { "06:00:ac:1f:00:0b", "06:00:ac:1f:00:0c", "06:00:ac:1f:00:0d" };
	const char *ids[3] = { "vm-net-a", "vm-net-b", "vm-net-c" };
	char *args[3];
	svq_config c[3];
	svq_vm vm[3];
	for (int i = 0; i < 3; i++) {
		add_tap(taps[i]);
		args[i] = net_args(img, 11 + i);
		svq_config_init(&c[i], img, args[i], false);
		add_nic(&c[i], taps[i], macs[i]);
	}
	for (int i = 0; i < 3; i++)
		svq_boot(&vm[i], &c[i].cfg, ids[i]);
	for (int i = 0; i < 3; i++) {
		char *out = NULL, want[64];
		assert_int_equal(svq_wait_exit(&vm[i], BOOT_TIMEOUT_MS, &out), 0);
		snprintf(want, sizeof(want), "inet 172.31.0.%d/24\nreached\n", 11 + i);
		assert_string_equal(out, want);
		free(out);
	}
	for (int i = 0; i < 3; i++) {
		svq_destroy(&vm[i]);
		del_tap(taps[i]);
		free(args[i]);
	}
	assert_int_equal(count_links(), links_before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_gets_its_address_and_reaches_the_gateway),
		cmocka_unit_test(test_three_vms_at_once_have_distinct_addresses),
	};
	return svt_run_group(tests, make_namespace, NULL);
}
