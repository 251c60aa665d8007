/* Entering network namespaces without ever moving the calling thread (see
 * net_netns.h): the work runs on a short-lived thread of its own, which is
 * the only one that calls setns. */
#include "net/net_netns.h"

#include "util/error.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

int sv_netns_open(const char *what, const char *path, int *fd_out)
{
	*fd_out = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sv_err_errno(errno == ENOENT ? SV_ENOTFOUND : SV_EINVAL, errno, "%s \"%s\"", what,
				    path);
	struct statfs st;
	if (fstatfs(fd, &st) != 0 || st.f_type != NSFS_MAGIC) {
		close(fd);
		return sv_err(
		    SV_EINVAL,
		    "%s \"%s\": not a network namespace (not an nsfs file; give a bind mount such as "
		    "/var/run/netns/NAME, or /proc/PID/ns/net)",
		    what, path);
	}
	int type = ioctl(fd, NS_GET_NSTYPE);
	if (type != CLONE_NEWNET) {
		close(fd);
		return sv_err(SV_EINVAL, "%s \"%s\": a namespace, but not a network namespace", what, path);
	}
	*fd_out = fd;
	return 0;
}

typedef struct {
	int ns_fd;
	int (*fn)(void *);
	void *arg;
	int rc;
	char *message;
} job;

static void *run_job(void *p)
{
	job *j = p;
	if (setns(j->ns_fd, CLONE_NEWNET) != 0) {
		j->rc = sv_err_errno(SV_ENETWORK, errno, "entering the network namespace");
	} else {
		j->rc = j->fn(j->arg);
	}
	if (j->rc)
		j->message = strdup(sv_last_error());
	/* The message is thread-local: freed here, or it leaks with the thread. */
	sv_err_clear();
	return NULL;
}

int sv_netns_run(int ns_fd, int (*fn)(void *), void *arg)
{
	job j = {.ns_fd = ns_fd, .fn = fn, .arg = arg};
	pthread_t t;
	int e = pthread_create(&t, NULL, run_job, &j);
	if (e)
		return sv_err_errno(SV_EIO, e, "starting a thread to enter a network namespace");
	pthread_join(t, NULL);
	if (j.rc) {
		sv_err(j.rc, "%s", j.message ? j.message : "(no message)");
		free(j.message);
	}
	return j.rc;
}

int sv_netns_run_at(const char *what, const char *path, int (*fn)(void *), void *arg)
{
	int fd;
	int rc = sv_netns_open(what, path, &fd);
	if (rc)
		return rc;
	rc = sv_netns_run(fd, fn, arg);
	close(fd);
	return rc;
}

sv_netns_owner sv_netns_owner_now(void)
{
	sv_netns_owner o = {.pid = getpid()};
	struct stat ns;
	if (stat("/proc/thread-self/ns/net", &ns) == 0) {
		o.ns_dev = ns.st_dev;
		o.ns_ino = ns.st_ino;
	}
	return o;
}

bool sv_netns_owner_same(const sv_netns_owner *kept, const sv_netns_owner *now)
{
	return kept->ns_ino && kept->pid == now->pid && kept->ns_dev == now->ns_dev &&
	       kept->ns_ino == now->ns_ino;
}
