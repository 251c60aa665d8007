/* Network namespaces someone else made (`--netns PATH`): checking that a path
 * is one, and running a piece of host-networking work inside it. */
#ifndef SV_NET_NET_NETNS_H
#define SV_NET_NET_NETNS_H

#include <stdbool.h>
#include <sys/types.h>

/* Opens path (O_RDONLY | O_CLOEXEC) and checks that it is a network namespace:
 * an nsfs file (a bind mount like /var/run/netns/NAME, or /proc/PID/ns/net)
 * of type CLONE_NEWNET. SV_ENOTFOUND / SV_EINVAL with a message naming
 * what (e.g. "net.netns_path") and the path. */
int sv_netns_open(const char *what, const char *path, int *fd_out);

/* Runs fn(arg) on a new thread that first enters the network namespace
 * ns_fd (setns affects only that thread, so the caller's namespace never
 * changes, whatever fn does). Returns fn's result; its error message is
 * carried back to the calling thread. Sockets fn opens and devices and
 * processes it creates belong to that namespace. */
int sv_netns_run(int ns_fd, int (*fn)(void *), void *arg);

/* The same, opening path first (checked as above). */
int sv_netns_run_at(const char *what, const char *path, int (*fn)(void *), void *arg);

/* Who a kept netlink socket or libnftables context belongs to: the process
 * and the calling thread's network namespace. A fork or a move to another
 * namespace needs a fresh one (a socket talks to the namespace it was opened
 * in, and a child must not share its parent's). */
typedef struct {
	pid_t pid;
	dev_t ns_dev;
	ino_t ns_ino; /* 0: unknown, never the same as anything */
} sv_netns_owner;

/* The caller, now. */
sv_netns_owner sv_netns_owner_now(void);
/* Whether what kept belongs to is the caller now (both known). */
bool sv_netns_owner_same(const sv_netns_owner *kept, const sv_netns_owner *now);

#endif
