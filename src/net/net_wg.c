/* WireGuard interfaces for VMs (see net_wg.h): picking a host-unique name,
 * bringing one up with whichever backend works here, and taking down only
 * the ones that carry their VM's mark. Routing and firewalling of the
 * tunnel are the caller's (vm_net_wg.c). */
#include "net/net_wg.h"

#include "net/net_link.h"
#include "net/net_route.h"
#include "util/error.h"
#include "util/log.h"
#include "util/spawn.h"
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_INTERFACES 4096
#define EXIT_WAIT_MS 3000

bool sv_wg_name_number(const char *name, uint32_t *n)
{
	size_t plen = strlen(SV_WG_PREFIX);
	if (strncmp(name, SV_WG_PREFIX, plen) || !name[plen] || strlen(name) > plen + 4)
		return false;
	uint32_t v = 0;
	for (const char *p = name + plen; *p; p++) {
		if (*p < '0' || *p > '9' || (p == name + plen && *p == '0' && p[1]))
			return false;
		v = v * 10 + (uint32_t)(*p - '0');
	}
	if (v >= MAX_INTERFACES)
		return false;
	*n = v;
	return true;
}

void sv_wg_alias(char out[96], const char *vm_id) { snprintf(out, 96, SV_WG_ALIAS_PREFIX "%s", vm_id); }

int sv_wg_pick(char name[16], uint32_t *table)
{
	for (uint32_t n = 0; n < MAX_INTERFACES; n++) {
		char candidate[16], sock[64];
		snprintf(candidate, sizeof(candidate), SV_WG_PREFIX "%u", n);
		sv_nl_link link;
		int rc = sv_nl_link_get(candidate, &link);
		if (rc == 0)
			continue;
		if (rc != SV_ENOTFOUND)
			return rc;
		sv_wg_uapi_path(sock, candidate);
		struct stat st;
		if (lstat(sock, &st) == 0 || errno != ENOENT)
			continue; /* another namespace's wireguard-go, or a stale socket */
		bool used = true;
		if ((rc = sv_nl_table_in_use(SV_WG_TABLE_BASE + n, &used)))
			return rc;
		if (used)
			continue; /* routing left behind by a VM not yet cleaned up */
		snprintf(name, 16, "%s", candidate);
		*table = SV_WG_TABLE_BASE + n;
		return 0;
	}
	return sv_err(SV_EBUSY, "no free WireGuard interface name (%s0 to %s%d are all in use)", SV_WG_PREFIX,
		      SV_WG_PREFIX, MAX_INTERFACES - 1);
}

static int bring_up(const sv_wg_backend *b, const char *ifname, const char *alias, const sv_wg_config *cfg)
{
	int rc = b->create(ifname);
	if (rc)
		return rc;
	if ((rc = sv_nl_link_set_alias(ifname, alias)) || (rc = b->configure(ifname, cfg)) ||
	    (rc = sv_nl_link_set_mtu(ifname, cfg->mtu ? cfg->mtu : 1420)))
		return rc;
	for (size_t i = 0; i < cfg->n_addresses; i++)
		if ((rc = sv_nl_addr_add(ifname, cfg->addresses[i].addr, cfg->addresses[i].prefix)))
			return rc;
	return sv_nl_link_set_up(ifname);
}

int sv_wg_up(const char *ifname, const char *alias, const sv_wg_config *cfg, const char **used)
{
	const sv_wg_backend *backends[] = {&sv_wg_kernel_backend, &sv_wg_userspace_backend};
	int rc = 0;
	for (size_t i = 0; i < 2; i++) {
		rc = bring_up(backends[i], ifname, alias, cfg);
		if (rc != SV_EUNSUPPORTED) {
			if (used)
				*used = backends[i]->name;
			break;
		}
		sv_debug("WireGuard interface %s: %s backend: %s", ifname, backends[i]->name,
			 sv_last_error());
	}
	return rc ? sv_err_prefix("bringing up WireGuard interface %s", ifname) : 0;
}

/* Whether pid runs wireguard-go (its executable's name). */
static bool is_wireguard_go(pid_t pid)
{
	char link[64], exe[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(link, exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	const char *base = strrchr(exe, '/');
	return strstr(base ? base + 1 : exe, "wireguard-go") != NULL;
}

/* After the link is gone: wireguard-go notices and exits; one that does not
 * is killed. Then a socket nobody serves is removed. */
static int finish_userspace(const char *ifname, pid_t server)
{
	if (server > 0) {
		int pidfd = (int)syscall(SYS_pidfd_open, server, 0);
		if (pidfd >= 0) {
			if (sv_pidfd_wait_exit(pidfd, EXIT_WAIT_MS) != 0) {
				sv_warn("wireguard-go (pid %d) serving %s did not exit; killing it",
					(int)server, ifname);
				syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
				sv_pidfd_wait_exit(pidfd, EXIT_WAIT_MS);
			}
			close(pidfd);
		}
	}
	char sock[64];
	sv_wg_uapi_path(sock, ifname);
	pid_t still = 0;
	struct stat st;
	if (lstat(sock, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_uid == geteuid() &&
	    sv_wg_uapi_server_pid(ifname, &still) == SV_ENOTFOUND && unlink(sock) != 0 && errno != ENOENT)
		return sv_err_errno(SV_EIO, errno, "removing %s", sock);
	sv_err_clear();
	return 0;
}

int sv_wg_down(const char *ifname, const char *alias)
{
	sv_nl_link link;
	int rc = sv_nl_link_get(ifname, &link);
	if (rc && rc != SV_ENOTFOUND)
		return rc;
	if (rc == 0 && strcmp(link.alias, alias))
		return sv_err(
		    SV_EUNSAFE,
		    "%s is not the WireGuard interface smartvm made (its mark is not \"%s\"); left alone",
		    ifname, alias);
	/* Who serves it, asked before the link goes (its socket goes too). */
	pid_t server = 0;
	if (rc == 0 && sv_wg_uapi_server_pid(ifname, &server) == 0 && !is_wireguard_go(server))
		server = 0;
	sv_err_clear();
	if (rc == 0 && (rc = sv_nl_link_del_checked(&link)))
		return rc;
	/* With no link of that name, a socket there is a leftover of ours:
	 * nothing else may use the name on this host. */
	return finish_userspace(ifname, server);
}
