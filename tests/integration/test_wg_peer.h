/* A WireGuard peer for the tunnel tests (test_net_wireguard with a veth for
 * the guest, test_realvm_wireguard with a real guest): wireguard-go in a
 * namespace of the test's, configured with wg (wireguard-tools), and the
 * VM's wg-quick file that points at it. Header-only, like
 * test_net_fixture.h, which it uses. */
#ifndef TEST_WG_PEER_H
#define TEST_WG_PEER_H

#include "net/net_wg.h"
#include "test_net_fixture.h"

/* The tunnel's addresses: only the peer has PEER_IN. */
#define PEER_IN "10.99.0.1"
#define VM_IN "10.99.0.2"

/* A tool's stdout without its trailing newlines; fails the test unless it
 * exits 0. */
SVN_UNUSED static char *svw_run_tool(const char *const *argv, const char *input)
{
	int code = -1;
	char *out = NULL, *err = NULL;
	assert_int_equal(sv_run(argv, input, 10000, &code, &out, &err), 0);
	if (code != 0)
		fail_msg("%s exited %d: %s", argv[0], code, err);
	free(err);
	size_t n = strlen(out);
	while (n && out[n - 1] == '\n')
		out[--n] = '\0';
	return out;
}

typedef struct {
	char name[16];
	char key_file[256];
	char vm_pub[64];
} svw_peer;

/* In the peer's namespace: wireguard-go, its key, the VM as its peer, PEER_IN. */
SVN_UNUSED static int svw_peer_up(void *arg)
{
	svw_peer *p = arg;
	const char *go[] = {"wireguard-go", p->name, NULL};
	const char *set[] = {"wg",    "set",  p->name,	 "private-key", p->key_file, "listen-port",
			     "51820", "peer", p->vm_pub, "allowed-ips", VM_IN "/32", NULL};
	int code = -1;
	if (sv_run(go, NULL, 10000, &code, NULL, NULL) || code ||
	    sv_run(set, NULL, 10000, &code, NULL, NULL) || code)
		return 1;
	return sv_nl_addr_add(p->name, svn_ip(PEER_IN), 24) || sv_nl_link_set_up(p->name) ? 2 : 0;
}

/* In the peer's namespace: its interface deleted (the tunnel is down). */
SVN_UNUSED static int svw_peer_delete(void *arg) { return sv_nl_link_del(arg) ? 1 : 0; }

/* Keys for the VM and a peer named name_prefix<pid>, the peer up in ns, and
 * the VM's wg-quick file (dir/wg0.conf, Endpoint endpoint:51820, all of its
 * traffic through the tunnel); returns the file's path. The peer's name is in
 * p->name (and started, unless NULL) before its wireguard-go starts, so a
 * teardown can kill what a failed start left. */
SVN_UNUSED static char *svw_peer_start(svw_peer *p, char started[16], int ns, const char *dir,
				       const char *name_prefix, const char *endpoint)
{
	const char *genkey[] = {"wg", "genkey", NULL}, *pubkey[] = {"wg", "pubkey", NULL};
	char *vm_key = svw_run_tool(genkey, NULL), *peer_key = svw_run_tool(genkey, NULL);
	char *vm_pub = svw_run_tool(pubkey, vm_key), *peer_pub = svw_run_tool(pubkey, peer_key);
	*p = (svw_peer){0};
	snprintf(p->name, sizeof(p->name), "%s%d", name_prefix, (int)(getpid() % 100000));
	char *key_path = svt_write(dir, "peer.key", peer_key);
	snprintf(p->key_file, sizeof(p->key_file), "%s", key_path);
	snprintf(p->vm_pub, sizeof(p->vm_pub), "%s", vm_pub);
	if (started)
		snprintf(started, 16, "%s", p->name);
	assert_int_equal(svn_run_in(ns, svw_peer_up, p, 20000), 0);
	char conf[1024];
	snprintf(conf, sizeof(conf),
		 "[Interface]\nPrivateKey = %s\nAddress = " VM_IN "/24\n\n[Peer]\nPublicKey = %s\n"
		 "Endpoint = %s:51820\nAllowedIPs = 0.0.0.0/0\n",
		 vm_key, peer_pub, endpoint);
	free(key_path);
	free(vm_key);
	free(peer_key);
	free(vm_pub);
	free(peer_pub);
	return svt_write(dir, "wg0.conf", conf);
}

/* The name of the link marked with alias ("" if none): smartvm picks tunnel
 * names host-wide (another test run may hold svwg0). */
SVN_UNUSED static void svw_link_with_alias(const char *alias, char name[16])
{
	sv_nl_link *links = NULL;
	size_t n = 0;
	assert_int_equal(sv_nl_link_list(&links, &n), 0);
	name[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!strcmp(links[i].alias, alias))
			snprintf(name, 16, "%s", links[i].name);
	free(links);
}

/* Kills the wireguard-go serving ifname that a failed check left (it would
 * keep the test's namespaces alive) and removes its socket. */
SVN_UNUSED static void svw_kill_wireguard_go(const char *ifname)
{
	pid_t pid = 0;
	if (ifname[0] && sv_wg_uapi_server_pid(ifname, &pid) == 0 && pid > 0) {
		kill(pid, SIGKILL);
		char sock[64];
		sv_wg_uapi_path(sock, ifname);
		unlink(sock);
	}
}

#endif
