/* The fake Firecracker's hybrid vsock (Firecracker's docs/vsock.md): the
 * host connects to the device's uds_path and writes "CONNECT <port>\n";
 * when something in the "guest" listens on that port, Firecracker answers
 * "OK <host port>\n" and the stream follows, else it closes the
 * connection. Here the guest's listener on port 1024 is a smartvm-agent
 * running on the host at the unix socket $FAKE_FC_VSOCK_AGENT, so that
 * everything the agent does (but run in a VM) can be tested against the
 * Firecracker backend.
 *
 * Each connection gets a child process that reads the CONNECT line and then
 * relays bytes both ways; it dies with the fake (PR_SET_PDEATHSIG), which
 * is what a guest killed mid-exec looks like to the host. Connections are
 * answered only while the VM runs (or is paused: then nothing moves, as in
 * a paused guest, but the fake does not model that). */
#include "fake_fc.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define LINE_MAX_BYTES 64
#define AGENT_PORT 1024u

static int connect_agent(void)
{
	const char *path = getenv("FAKE_FC_VSOCK_AGENT");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The CONNECT line, one byte at a time so nothing of the stream is read. */
static bool read_connect(int fd, unsigned *port)
{
	char line[LINE_MAX_BYTES];
	size_t n = 0;
	while (n < sizeof(line) - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 5000) <= 0 || read(fd, line + n, 1) != 1)
			return false;
		if (line[n++] == '\n')
			break;
	}
	line[n] = '\0';
	return sscanf(line, "CONNECT %u\n", port) == 1;
}

static bool copy_some(int from, int to)
{
	char buf[65536];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n <= 0)
		return false;
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));
		if (w <= 0)
			return false;
		off += w;
	}
	return true;
}

static void relay(int host, unsigned long long host_port)
{
	unsigned port = 0;
	if (!read_connect(host, &port) || port != AGENT_PORT)
		_exit(0);
	int guest = connect_agent();
	if (guest < 0)
		_exit(0); /* nobody listens in the guest: Firecracker closes */
	char ok[64];
	int n = snprintf(ok, sizeof(ok), "OK %llu\n", host_port);
	if (write(host, ok, (size_t)n) != n)
		_exit(0);
	for (;;) {
		struct pollfd p[2] = {{.fd = host, .events = POLLIN}, {.fd = guest, .events = POLLIN}};
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			_exit(1);
		if (p[0].revents && !copy_some(host, guest))
			_exit(0);
		if (p[1].revents && !copy_some(guest, host))
			_exit(0);
	}
}

void fc_vsock_accept(fake_fc *fc)
{
	static unsigned long long next_port = 1u << 30;
	int fd = accept4(fc->vsock_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (fc->state == VM_NOT_STARTED) {
		close(fd);
		return;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		relay(fd, next_port);
	}
	next_port++;
	close(fd);
}

void fc_vsock_reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}
