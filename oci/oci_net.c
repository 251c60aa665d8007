/* The container's network namespace, checked and turned into the VM's one
 * interface (see oci_net.h). */
#include "oci_net.h"

#include "net/net_join.h"
#include "net/net_link.h"
#include "net/net_netns.h"
#include "util/error.h"
#include "util/trusted_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <linux/if.h>
#include <sched.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define WHAT "linux.namespaces: network path"

static bool same_file(const struct stat *a, const char *path)
{
	struct stat b;
	return stat(path, &b) == 0 && a->st_dev == b.st_dev && a->st_ino == b.st_ino;
}

/* Refuses a namespace owned by another user namespace than ours (a user
 * who made it with unshare -Urn controls it) and the host's own. */
static int check_namespace(const char *path, int fd)
{
	struct stat st, owner_st;
	if (fstat(fd, &st) < 0)
		return sv_err_errno(SV_EIO, errno, WHAT " %s", path);
	if (same_file(&st, "/proc/1/ns/net") || same_file(&st, "/proc/self/ns/net"))
		return sv_err(SV_EINVAL,
			      WHAT " %s: is the host's own network namespace; a container needs one of its "
				   "own (the engine's network plugin makes it)",
			      path);
	int owner = ioctl(fd, NS_GET_USERNS);
	if (owner < 0)
		return sv_err_errno(SV_EINVAL, errno, WHAT " %s: its user namespace", path);
	bool ours = fstat(owner, &owner_st) == 0 && same_file(&owner_st, "/proc/self/ns/user");
	close(owner);
	if (!ours)
		return sv_err(SV_EUNSAFE,
			      WHAT " %s: belongs to another user namespace (another user controls it); "
				   "refused",
			      path);
	return 0;
}

/* Opens path through its checked directory: a symlink only as procfs's. */
static int open_namespace(const char *path, int *fd_out)
{
	*fd_out = -1;
	if (path[0] != '/')
		return sv_err(SV_EINVAL, WHAT " \"%s\": must be an absolute path", path);
	char *copy = strdup(path);
	if (!copy)
		return sv_err(SV_ENOMEM, "out of memory");
	char *slash = strrchr(copy, '/');
	const char *name = slash + 1;
	*slash = '\0';
	int dirfd = -1, rc = sv_trusted_dir_existing(WHAT " directory", copy[0] ? copy : "/", &dirfd);
	struct stat st;
	struct statfs sfs;
	if (rc) {
		sv_err_prefix(WHAT " %s", path);
	} else if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) {
		rc = sv_err(SV_EINVAL, WHAT " %s: not a file", path);
	} else if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		rc = sv_err_errno(errno == ENOENT ? SV_ENOTFOUND : SV_EINVAL, errno, WHAT " %s", path);
	} else if (S_ISLNK(st.st_mode) && (fstatfs(dirfd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)) {
		rc = sv_err(SV_EUNSAFE, WHAT " %s: a symlink (give the namespace file itself)", path);
	} else if ((*fd_out = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
		rc = sv_err_errno(SV_EINVAL, errno, WHAT " %s", path);
	}
	if (dirfd >= 0)
		close(dirfd);
	free(copy);
	return rc;
}

typedef struct {
	oci_net *n;
	const char *path;
} pick_job;

/* In the namespace: eth0 if there is one, else the only interface
 * besides lo. */
static int pick_dev(void *arg)
{
	pick_job *j = arg;
	sv_nl_link *links = NULL, *found = NULL;
	size_t n = 0, candidates = 0;
	int rc = sv_nl_link_list(&links, &n);
	for (size_t i = 0; !rc && i < n; i++) {
		if (links[i].flags & IFF_LOOPBACK)
			continue;
		if (!strcmp(links[i].name, OCI_NET_DEFAULT_DEV)) {
			found = &links[i];
			candidates = 1;
			break;
		}
		candidates++;
		found = &links[i];
	}
	if (!rc && candidates != 1)
		rc = sv_err(SV_ENOTFOUND,
			    WHAT " %s: %s (the VM takes over " OCI_NET_DEFAULT_DEV
				 ", or the only interface besides lo)",
			    j->path,
			    candidates ? "several interfaces and none is " OCI_NET_DEFAULT_DEV
				       : "has no interface besides lo; did the engine's network plugin run?");
	if (!rc)
		snprintf(j->n->dev, sizeof(j->n->dev), "%s", found->name);
	free(links);
	/* What the VM will need of it (an address), checked before anything
	 * is built. */
	sv_net_join_info info;
	if (!rc && sv_net_join_read(j->n->dev, &info))
		rc = sv_err_prefix(WHAT " %s", j->path);
	return rc;
}

int oci_net_prepare(oci_net *n, const char *path)
{
	memset(n, 0, sizeof(*n));
	int fd, rc = open_namespace(path, &fd);
	if (rc)
		return rc;
	/* Checked through the fd just opened: nsfs, network, whose, not the host's. */
	char proc_path[64];
	snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", fd);
	int ns_fd;
	if ((rc = sv_netns_open(WHAT, proc_path, &ns_fd))) {
		close(fd);
		return sv_err(rc,
			      WHAT " %s: not a network namespace (give the engine's, such as "
				   "/var/run/netns/NAME)",
			      path);
	}
	close(ns_fd);
	pick_job j = {n, path};
	if (!(rc = check_namespace(path, fd)))
		rc = sv_netns_run(fd, pick_dev, &j);
	close(fd);
	if (rc)
		return rc;
	n->opts = (sv_vm_net_options)SV_VM_NET_OPTIONS_INIT;
	n->opts.netns_path = path;
	n->opts.join_dev = n->dev;
	n->nic = (sv_net_iface_config){.iface_id = "eth0"};
	return 0;
}

void oci_net_apply(oci_net *n, sv_vm_config *cfg)
{
	cfg->network_interfaces = &n->nic;
	cfg->n_network_interfaces = 1;
	cfg->net = &n->opts;
}
