/* `smartvm attach`, the supervisor's end: <vm dir>/console.sock joins one
 * client to the guest's serial console (the VMM's stdout and stdin).
 *
 * One client at a time: what it writes goes to the VMM's stdin, and it gets
 * the console's output from the moment it connected (nothing older, as with
 * `docker attach`; `smartvm logs` has the past). A second client gets the
 * line "smartvm-console 1 busy <pid>" naming the attached one and is
 * disconnected; the first gets "smartvm-console 1 ok" and then raw bytes.
 *
 * Invariants:
 *  - Nothing here ever blocks the console relay (and so the VMM): every fd
 *    is non-blocking. A client that lets more than
 *    SV_CONSOLE_CLIENT_QUEUE_MAX of output pile up is disconnected; input
 *    the VMM does not take yet stays queued (at most one read of the
 *    client's, 64 KiB) and the client is not read meanwhile.
 *  - A client leaving changes nothing for the VM.
 *  - The socket is bound through the VM directory's fd with umask 0177 (0600
 *    from the first moment). An existing entry is removed only when it is a
 *    socket nobody listens on (left by a supervisor that was killed); a link
 *    or anything else makes the hub fail (the VM runs without attach). At
 *    the end it unlinks the name only if it is still the inode it bound.
 */
#include "vm/console_hub.h"

#include "agent_queue.h"
#include "util/error.h"
#include "util/log.h"
#include "vm/vm_agent.h"
#include "vm/vm_internal.h"
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define INPUT_READ 65536

struct sv_console_hub {
	int dir_fd, listen_fd;
	dev_t sock_dev;
	ino_t sock_ino;
	int client_fd; /* -1 = none attached */
	pid_t client_pid;
	sva_queue to_client;
	int stdin_fd; /* the VMM's stdin; -1 once it is gone */
	sva_queue to_vmm;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* A dead socket at name (nobody accepts on it) may be removed; anything
 * else there is not ours to remove. */
static int clear_stale_socket(int dir_fd, const char *vm_dir)
{
	struct stat st;
	if (fstatat(dir_fd, SV_VM_CONSOLE_SOCKET, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0
				       : sv_err_errno(SV_EIO, errno, "%s/%s", vm_dir, SV_VM_CONSOLE_SOCKET);
	if (!S_ISSOCK(st.st_mode))
		return sv_err(SV_EUNSAFE, "%s/%s exists and is not a socket; not replacing it", vm_dir,
			      SV_VM_CONSOLE_SOCKET);
	int fd = sv_agent_unix_connect_at(dir_fd, SV_VM_CONSOLE_SOCKET, false);
	if (fd >= 0) {
		close(fd);
		return sv_err(SV_EBUSY, "%s/%s: another process listens on it", vm_dir, SV_VM_CONSOLE_SOCKET);
	}
	if (unlinkat(dir_fd, SV_VM_CONSOLE_SOCKET, 0) != 0 && errno != ENOENT)
		return sv_err_errno(SV_EIO, errno, "removing the stale %s/%s", vm_dir, SV_VM_CONSOLE_SOCKET);
	return 0;
}

int sv_console_hub_open(sv_console_hub **out, const char *vm_dir, int vmm_stdin)
{
	*out = NULL;
	sv_console_hub *h = calloc(1, sizeof(*h));
	if (!h) {
		close_fd(&vmm_stdin);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	h->listen_fd = h->client_fd = -1;
	h->stdin_fd = vmm_stdin;
	h->to_vmm.not_socket = 1;
	if (vmm_stdin >= 0)
		fcntl(vmm_stdin, F_SETFL, fcntl(vmm_stdin, F_GETFL) | O_NONBLOCK);
	int rc = 0;
	h->dir_fd = open(vm_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (h->dir_fd < 0) {
		rc = sv_err_errno(SV_EIO, errno, "opening %s", vm_dir);
		goto fail;
	}
	if ((rc = clear_stale_socket(h->dir_fd, vm_dir)))
		goto fail;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", h->dir_fd, SV_VM_CONSOLE_SOCKET);
	h->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	/* 0600 from the start: no moment where another user could connect.
	 * bind() never follows a link at the name: an entry planted since the
	 * check makes it fail with EADDRINUSE. */
	mode_t old = umask(0177);
	bool bound = h->listen_fd >= 0 && bind(h->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	umask(old);
	struct stat st;
	if (!bound || fstatat(h->dir_fd, SV_VM_CONSOLE_SOCKET, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    listen(h->listen_fd, 8) < 0) {
		rc = sv_err_errno(SV_EIO, errno, "listening on %s/%s", vm_dir, SV_VM_CONSOLE_SOCKET);
		if (!bound)
			close_fd(&h->listen_fd); /* nothing of ours to remove */
		goto fail;
	}
	h->sock_dev = st.st_dev;
	h->sock_ino = st.st_ino;
	*out = h;
	return 0;
fail:
	sv_console_hub_free(h);
	return rc;
}

static void drop_client(sv_console_hub *h, const char *why)
{
	if (h->client_fd < 0)
		return;
	sv_debug("console: client %d detached: %s", (int)h->client_pid, why);
	close_fd(&h->client_fd);
	sva_queue_clear(&h->to_client);
	h->client_pid = 0;
}

static pid_t peer_pid(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 ? cred.pid : 0;
}

static void accept_clients(sv_console_hub *h)
{
	for (;;) {
		int fd = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		/* The attached client may have just left (its hangup not yet
		 * seen): then the newcomer is not refused. */
		struct pollfd alive = {.fd = h->client_fd, .events = POLLIN};
		if (h->client_fd >= 0 && poll(&alive, 1, 0) > 0 && (alive.revents & (POLLHUP | POLLERR)))
			drop_client(h, "it closed the connection");
		if (h->client_fd >= 0) {
			char line[SV_CONSOLE_HELLO_MAX];
			int n = snprintf(line, sizeof(line), SV_CONSOLE_HELLO_BUSY " %d\n", (int)h->client_pid);
			/* A fresh socket's buffer takes a line; one that does not is
			 * refused all the same. */
			if (send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				sv_debug("console: refusing a second client: %s", strerror(errno));
			close(fd);
			continue;
		}
		h->client_fd = fd;
		h->client_pid = peer_pid(fd);
		if (sva_queue_add(&h->to_client, SV_CONSOLE_HELLO_OK, strlen(SV_CONSOLE_HELLO_OK)) < 0 ||
		    sva_queue_flush(&h->to_client, fd) < 0)
			drop_client(h, "the greeting failed");
	}
}

/* What the client typed, on its way to the VMM's stdin. */
static void read_client(sv_console_hub *h)
{
	uint8_t *room = sva_queue_reserve(&h->to_vmm, INPUT_READ);
	if (!room) {
		drop_client(h, "out of memory");
		return;
	}
	ssize_t n = read(h->client_fd, room, INPUT_READ);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		drop_client(h, n == 0 ? "it closed the connection" : strerror(errno));
		return;
	}
	if (h->stdin_fd < 0)
		return; /* the VMM closed its stdin: input goes nowhere */
	sva_queue_commit(&h->to_vmm, (size_t)n);
	if (sva_queue_flush(&h->to_vmm, h->stdin_fd) < 0) {
		sv_debug("console: the VMM's stdin: %s", strerror(errno));
		close_fd(&h->stdin_fd);
		sva_queue_clear(&h->to_vmm);
	}
}

void sv_console_hub_poll_prepare(sv_console_hub *h, struct pollfd *p)
{
	bool input_waits = sva_queue_pending(&h->to_vmm) > 0;
	p[0] = (struct pollfd){.fd = h->listen_fd, .events = POLLIN};
	/* While the VMM has not taken the last input, the client is not read:
	 * its own socket buffer then holds what it types. */
	short ev = (short)((input_waits ? 0 : POLLIN) | (sva_queue_pending(&h->to_client) ? POLLOUT : 0));
	p[1] = (struct pollfd){.fd = h->client_fd, .events = ev};
	p[2] = (struct pollfd){.fd = input_waits ? h->stdin_fd : -1, .events = POLLOUT};
}

void sv_console_hub_poll_done(sv_console_hub *h, const struct pollfd *p)
{
	if (p[2].fd >= 0 && p[2].revents && h->stdin_fd >= 0 && sva_queue_flush(&h->to_vmm, h->stdin_fd) < 0) {
		close_fd(&h->stdin_fd);
		sva_queue_clear(&h->to_vmm);
	}
	if (p[1].fd >= 0 && p[1].fd == h->client_fd && p[1].revents) {
		if ((p[1].revents & POLLOUT) && sva_queue_flush(&h->to_client, h->client_fd) < 0)
			drop_client(h, "writing to it failed");
		else if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
			read_client(h);
	}
	if (p[0].revents)
		accept_clients(h);
}

void sv_console_hub_output(sv_console_hub *h, const char *data, size_t len)
{
	if (!h || h->client_fd < 0)
		return;
	if (sva_queue_pending(&h->to_client) + len > SV_CONSOLE_CLIENT_QUEUE_MAX) {
		drop_client(h, "it does not keep up with the console");
		return;
	}
	if (sva_queue_add(&h->to_client, data, len) < 0 || sva_queue_flush(&h->to_client, h->client_fd) < 0)
		drop_client(h, "writing to it failed");
}

void sv_console_hub_free(sv_console_hub *h)
{
	if (!h)
		return;
	if (h->client_fd >= 0)
		sva_queue_flush(&h->to_client, h->client_fd);
	drop_client(h, "the console ended");
	close_fd(&h->stdin_fd);
	if (h->listen_fd >= 0) {
		close_fd(&h->listen_fd);
		struct stat st;
		if (fstatat(h->dir_fd, SV_VM_CONSOLE_SOCKET, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_dev == h->sock_dev && st.st_ino == h->sock_ino)
			unlinkat(h->dir_fd, SV_VM_CONSOLE_SOCKET, 0);
	}
	close_fd(&h->dir_fd);
	sva_queue_free(&h->to_client);
	sva_queue_free(&h->to_vmm);
	free(h);
}
