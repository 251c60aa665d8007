/* Network-namespace fixtures for the net integration tests (header-only, one
 * copy per test program). Every root test first moves the whole test process
 * into a fresh network namespace (svn_enter_fresh_netns), so nothing it does
 * can reach the host's interfaces; extra namespaces for a "guest" or an
 * "outside" are made from there and handed around as fds. Veths and routes
 * are built with libmnl, like the library does. */
#ifndef TEST_NET_FIXTURE_H
#define TEST_NET_FIXTURE_H

#include "net/net_addr.h"
#include "net/net_lease.h"
#include "net/net_link.h"
#include "net/net_nft.h"
#include "svtest.h"
#include "util/file.h"
#include "util/ledger.h"
#include "util/spawn.h"
#include "vm/vm_net.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <signal.h>
#include <smartvm/error.h>
#include <smartvm/netadmin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SVN_UNUSED __attribute__((unused))

/* Asserts a library call returned 0, showing sv_last_error() when not. */
#define svn_ok(expr)                                                                                         \
	do {                                                                                                 \
		int svn_rc_ = (expr);                                                                        \
		if (svn_rc_ != 0)                                                                            \
			fail_msg("%s returned %d: %s", #expr, svn_rc_, sv_last_error());                     \
	} while (0)

/* Skips unless root; then unshares a fresh network namespace for this process
 * (with lo up). Every test calls it before touching any interface. */
SVN_UNUSED static void svn_enter_fresh_netns(void)
{
	if (!svt_is_root()) {
		svt_skip(SVT_NEED_ROOT, "needs root to create network namespaces");
	}
	if (unshare(CLONE_NEWNET) != 0)
		fail_msg("unshare(CLONE_NEWNET): %s", strerror(errno));
	assert_int_equal(sv_nl_link_set_up("lo"), 0);
}

/* A new network namespace (fd); the caller stays where it was. */
SVN_UNUSED static int svn_netns_new(void)
{
	int here = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(here >= 0);
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(setns(here, CLONE_NEWNET), 0);
	close(here);
	return fd;
}

/* Runs fn(arg) in a forked child inside namespace ns_fd (-1 = ours); returns
 * its exit status (fn's return value), failing the test after timeout_ms. */
SVN_UNUSED static int svn_run_in(int ns_fd, int (*fn)(void *), void *arg, int timeout_ms)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (ns_fd >= 0 && setns(ns_fd, CLONE_NEWNET) != 0)
			_exit(120);
		_exit(fn(arg) & 0xff);
	}
	int status = 0;
	if (sv_reap(pid, timeout_ms, &status) != 0) {
		kill(pid, SIGKILL);
		sv_reap(pid, 5000, &status);
		fail_msg("child in namespace did not finish within %d ms", timeout_ms);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

SVN_UNUSED static int svn_nl_talk(struct nlmsghdr *nlh)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = (unsigned)time(NULL);
	int rc = 0;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		rc = -errno;
	} else {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0 ||
		    mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, mnl_socket_get_portid(nl), NULL, NULL) < 0)
			rc = -errno;
	}
	mnl_socket_close(nl);
	return rc;
}

/* A veth pair: name here, peer moved into namespace peer_ns. */
SVN_UNUSED static void svn_veth_add(const char *name, const char *peer, int peer_ns)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	struct nlattr *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	struct nlattr *peer_attr = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	struct ifinfomsg *pifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifm));
	pifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_ns);
	mnl_attr_nest_end(nlh, peer_attr);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	int rc = svn_nl_talk(nlh);
	if (rc)
		fail_msg("creating veth %s/%s: %s", name, peer, strerror(-rc));
}

/* Sets the MAC ("aa:bb:cc:dd:ee:ff") of link name; returns 0 or -errno. A
 * veth standing in for a guest needs the leased MAC: the bridge drops what a
 * VM port sends from any other (anti-spoofing). */
SVN_UNUSED static int svn_set_mac(const char *name, const char *mac)
{
	unsigned char addr[6];
	if (sscanf(mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &addr[0], &addr[1], &addr[2], &addr[3], &addr[4],
		   &addr[5]) != 6)
		return -EINVAL;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, addr);
	return svn_nl_talk(nlh);
}

/* Adds the default route via gw (host order); returns 0 or -errno. */
SVN_UNUSED static int svn_default_route(uint32_t gw)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_GATEWAY, htonl(gw));
	return svn_nl_talk(nlh);
}

SVN_UNUSED static uint32_t svn_ip(const char *text)
{
	uint32_t a = 0;
	assert_true(sv_ipv4_parse(text, &a));
	return a;
}

/* A test's own data and runtime directories (fresh tmpdirs), as cmocka
 * setup/teardown: the state is an svn_dirs. */
typedef struct {
	char *data_dir;
	char *runtime_dir;
} svn_dirs;

SVN_UNUSED static int svn_dirs_setup(void **state)
{
	svn_dirs *e = calloc(1, sizeof(*e));
	e->data_dir = svt_tmpdir();
	e->runtime_dir = svt_tmpdir();
	*state = e;
	return 0;
}

SVN_UNUSED static int svn_dirs_teardown(void **state)
{
	svn_dirs *e = *state;
	svt_rm_tmpdir(e->data_dir);
	svt_rm_tmpdir(e->runtime_dir);
	free(e);
	return 0;
}

/* A VM directory with an open ledger under runtime_dir. */
typedef struct {
	char *dir;
	sv_ledger *ledger;
} svn_vm;

SVN_UNUSED static svn_vm svn_vm_open(const char *runtime_dir, const char *id)
{
	svn_vm vm = {.dir = sv_path_join(runtime_dir, id)};
	assert_int_equal(sv_mkdir_p(vm.dir, 0755), 0);
	assert_int_equal(sv_ledger_open(&vm.ledger, vm.dir), 0);
	return vm;
}

/* Closes the ledger and replays it (the VM layer's cleanup). */
SVN_UNUSED static int svn_vm_cleanup(svn_vm *vm)
{
	sv_ledger_close(vm->ledger);
	vm->ledger = NULL;
	sv_vm_net_register_undo();
	int rc = sv_ledger_replay(vm->dir);
	free(vm->dir);
	vm->dir = NULL;
	return rc;
}

/* A deep-copy-like config with n interfaces (heap strings, as the VM's own
 * copy has), freed by svn_cfg_free. */
SVN_UNUSED static sv_vm_config *svn_cfg_new(size_t n, const char *boot_args)
{
	sv_vm_config *cfg = calloc(1, sizeof(*cfg));
	assert_non_null(cfg);
	cfg->version = SV_VM_CONFIG_VERSION;
	cfg->boot_source.boot_args = boot_args ? strdup(boot_args) : NULL;
	sv_net_iface_config *nics = calloc(n ? n : 1, sizeof(*nics));
	assert_non_null(nics);
	for (size_t i = 0; i < n; i++) {
		char id[32];
		snprintf(id, sizeof(id), "eth%zu", i);
		nics[i].iface_id = strdup(id);
	}
	cfg->network_interfaces = nics;
	cfg->n_network_interfaces = n;
	return cfg;
}

SVN_UNUSED static void svn_cfg_free(sv_vm_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_network_interfaces; i++) {
		free((char *)cfg->network_interfaces[i].iface_id);
		free((char *)cfg->network_interfaces[i].host_dev_name);
		free((char *)cfg->network_interfaces[i].guest_mac);
	}
	free((void *)cfg->network_interfaces);
	free((char *)cfg->boot_source.boot_args);
	free(cfg);
}

SVN_UNUSED static bool svn_link_exists(const char *name)
{
	sv_nl_link l;
	return sv_nl_link_get(name, &l) == 0;
}

SVN_UNUSED static bool svn_table_exists(const char *bridge)
{
	bool exists = true;
	assert_int_equal(sv_nft_exists(bridge, &exists), 0);
	return exists;
}

/* The egress rules of bridge's nftables forward chain as `nft list table`
 * prints them, one a line without indentation ("" when the table does not
 * exist); malloc'd. The fixed rules before them (tunnel, VM isolation,
 * published-port replies: those using sets or conntrack) are left out. The
 * text form makes order and content readable in a test. */
SVN_UNUSED static char *svn_forward_rules(const char *bridge)
{
	char table[32];
	sv_nft_table_name(table, bridge);
	const char *const argv[] = {"nft", "list", "table", "ip", table, NULL};
	int code = -1;
	char *out = NULL;
	assert_int_equal(sv_run(argv, NULL, 10000, &code, &out, NULL), 0);
	char *rules = calloc(1, out ? strlen(out) + 1 : 1);
	assert_non_null(rules);
	bool in_forward = false;
	for (char *save = NULL, *line = code == 0 && out ? strtok_r(out, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		line += strspn(line, " \t");
		if (!strcmp(line, "chain forward {"))
			in_forward = true;
		else if (in_forward && !strcmp(line, "}"))
			in_forward = false;
		else if (in_forward && strncmp(line, "type ", 5) && !strchr(line, '@') &&
			 !strstr(line, " ct "))
			strcat(strcat(rules, line), "\n");
	}
	free(out);
	return rules;
}

/* Number of links whose name starts with the TAP prefix. */
SVN_UNUSED static int svn_count_taps(void)
{
	sv_nl_link *links = NULL;
	size_t n = 0;
	assert_int_equal(sv_nl_link_list(&links, &n), 0);
	int count = 0;
	for (size_t i = 0; i < n; i++)
		if (!strncmp(links[i].name, "svt", 3))
			count++;
	free(links);
	return count;
}

/* Asserts that nothing of bridge remains: link, table, lease and state files
 * (TAPs are the caller's to count). For a refusal that must have made
 * nothing at all, not even the shared bridge. */
SVN_UNUSED static void svn_assert_nothing_made_but_taps(const char *data_dir, const char *bridge)
{
	assert_false(svn_link_exists(bridge));
	assert_false(svn_table_exists(bridge));
	char *net_dir = sv_path_join(data_dir, "net");
	assert_int_equal(svt_dir_entries(net_dir), 0);
	free(net_dir);
}

/* `smartvm net down` of bridge, which must succeed: it refuses while any
 * lease is left, and a TAP of smartvm's left on the bridge keeps it. */
SVN_UNUSED static void svn_net_down(const char *data_dir, const char *bridge)
{
	sv_net_admin_options o = SV_NET_ADMIN_OPTIONS_INIT;
	o.data_dir = data_dir;
	o.bridge_name = bridge;
	if (sv_net_down(&o, NULL) != 0)
		fail_msg("net down %s: %s", bridge, sv_last_error());
}

/* After the VMs stopped: the bridge and its table stay (shared, until `net
 * down`), so this takes them down, which fails while a lease or one of
 * smartvm's TAPs is left, then asserts nothing of bridge remains. */
SVN_UNUSED static void svn_assert_all_gone_but_taps(const char *data_dir, const char *bridge)
{
	svn_net_down(data_dir, bridge);
	svn_assert_nothing_made_but_taps(data_dir, bridge);
}

/* The same, and no TAP is left either. */
SVN_UNUSED static void svn_assert_all_gone(const char *data_dir, const char *bridge)
{
	svn_assert_all_gone_but_taps(data_dir, bridge);
	assert_int_equal(svn_count_taps(), 0);
}

/* The strict form of svn_assert_all_gone, for what must have made nothing. */
SVN_UNUSED static void svn_assert_nothing_made(const char *data_dir, const char *bridge)
{
	svn_assert_nothing_made_but_taps(data_dir, bridge);
	assert_int_equal(svn_count_taps(), 0);
}

typedef struct {
	pid_t pid;
	int fd;
	char path[64];
} svn_user_ns;

/* A network namespace (its path /proc/PID/ns/net and an fd) held by a child that waits to be killed. */
SVN_UNUSED static svn_user_ns svn_user_ns_new(void)
{
	svn_user_ns u = {0};
	int ready[2];
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	u.pid = fork();
	assert_true(u.pid >= 0);
	if (u.pid == 0) {
		alarm(300); /* a leaked holder goes by itself; no test case runs this long */
		if (unshare(CLONE_NEWNET) != 0 || write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	char r;
	assert_int_equal(read(ready[0], &r, 1), 1);
	close(ready[0]);
	snprintf(u.path, sizeof(u.path), "/proc/%d/ns/net", (int)u.pid);
	u.fd = open(u.path, O_RDONLY | O_CLOEXEC);
	assert_true(u.fd >= 0);
	return u;
}

SVN_UNUSED static void svn_user_ns_free(svn_user_ns *u)
{
	close(u->fd);
	kill(u->pid, SIGKILL);
	int status;
	sv_reap(u->pid, 5000, &status);
}

typedef struct {
	const char *name;
	sv_nl_link link;
} svn_link_query;

SVN_UNUSED static int svn_get_link(void *arg)
{
	svn_link_query *q = arg;
	return sv_nl_link_get(q->name, &q->link) ? 1 : 0;
}

/* A TAP (or, with tun, a TUN) that is nobody's of smartvm's. */
SVN_UNUSED static int svn_make_user_device(void *arg)
{
	const char *name = arg;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	struct ifreq ifr = {.ifr_flags = (strstr(name, "tun") ? IFF_TUN : IFF_TAP) | IFF_NO_PI};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	int rc = fd < 0 || ioctl(fd, TUNSETIFF, &ifr) != 0 || ioctl(fd, TUNSETPERSIST, 1) != 0;
	if (fd >= 0)
		close(fd);
	return rc;
}

/* wireguard-go and wg (wireguard-tools), both `make deps` packages. */
SVN_UNUSED static bool svn_have_wireguard(void)
{
	return (access("/usr/bin/wireguard-go", X_OK) == 0 || access("/usr/sbin/wireguard-go", X_OK) == 0) &&
	       (access("/usr/bin/wg", X_OK) == 0 || access("/usr/sbin/wg", X_OK) == 0);
}

#endif
