/* The userspace WireGuard backend: wireguard-go serving a TUN device, driven
 * through its UAPI socket, the cross-platform configuration protocol
 * (key=value lines: "set=1", the keys, an empty line; the answer is
 * "errno=N" and an empty line). wireguard-go is started with an argument
 * vector and an environment of our own (no LOG_LEVEL: its daemon then
 * keeps none of our descriptors), daemonises itself, and lives until its
 * device is deleted. Keys travel as hex on the socket and never appear in a
 * message. */
#include "net/net_wg.h"

#include "net/net_addr.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define WG_GO_TIMEOUT_MS 10000
#define UAPI_TIMEOUT_S 5

void sv_wg_uapi_path(char out[64], const char *ifname)
{
	snprintf(out, 64, SV_WG_UAPI_DIR "/%s.sock", ifname);
}

static int put_line(sv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int put_line(sv_buf *b, const char *fmt, ...)
{
	char line[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= sizeof(line) ? SV_EINVAL : sv_buf_append(b, line, (size_t)n);
}

static void hex(char out[2 * SV_WG_KEY_LEN + 1], const uint8_t key[SV_WG_KEY_LEN])
{
	for (int i = 0; i < SV_WG_KEY_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", key[i]);
}

static int put_key(sv_buf *b, const char *name, const uint8_t key[SV_WG_KEY_LEN])
{
	char h[2 * SV_WG_KEY_LEN + 1];
	hex(h, key);
	int rc = put_line(b, "%s=%s\n", name, h);
	explicit_bzero(h, sizeof(h));
	return rc;
}

static int put_peer(sv_buf *b, const sv_wg_peer *p)
{
	int rc = put_key(b, "public_key", p->public_key);
	if (!rc && p->has_preshared_key)
		rc = put_key(b, "preshared_key", p->preshared_key);
	if (!rc && p->has_endpoint) {
		char ip[16];
		sv_ipv4_format(p->endpoint_addr, ip);
		rc = put_line(b, "endpoint=%s:%u\n", ip, p->endpoint_port);
	}
	if (!rc)
		rc = put_line(b, "persistent_keepalive_interval=%u\nreplace_allowed_ips=true\n",
			      p->persistent_keepalive);
	for (size_t i = 0; !rc && i < p->n_allowed_ips; i++) {
		char ip[16];
		sv_ipv4_format(p->allowed_ips[i].addr, ip);
		rc = put_line(b, "allowed_ip=%s/%d\n", ip, p->allowed_ips[i].prefix);
	}
	return rc;
}

int sv_wg_uapi_set_text(char **out, const sv_wg_config *cfg)
{
	sv_buf b = {0};
	int rc = put_line(&b, "set=1\n");
	if (!rc)
		rc = put_key(&b, "private_key", cfg->private_key);
	if (!rc && cfg->has_listen_port)
		rc = put_line(&b, "listen_port=%u\n", cfg->listen_port);
	if (!rc)
		rc = put_line(&b, "replace_peers=true\n");
	for (size_t i = 0; !rc && i < cfg->n_peers; i++)
		rc = put_peer(&b, &cfg->peers[i]);
	if (!rc)
		rc = put_line(&b, "\n");
	if (rc) {
		if (b.data)
			explicit_bzero(b.data, b.len);
		sv_buf_free(&b);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	*out = b.data;
	return 0;
}

/* Reads what fd holds now (the child's stderr once it exited), trimmed. */
static void drain(int fd, char *out, size_t size)
{
	size_t n = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	while (n + 1 < size && poll(&p, 1, 0) == 1) {
		ssize_t r = read(fd, out + n, size - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
		n--;
	out[n] = '\0';
}

static int userspace_create(const char *ifname)
{
	const char *bin = getenv("SMARTVM_WIREGUARD_GO");
	if (!bin || !*bin)
		bin = "wireguard-go";
	const char *argv[] = {bin, ifname, NULL};
	/* No LOG_LEVEL: with one, its daemon would keep our stderr open. */
	const char *envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	int err[2];
	if (pipe2(err, O_CLOEXEC) != 0)
		return sv_err_errno(SV_EIO, errno, "starting wireguard-go for %s: pipe", ifname);
	sv_spawn_opts so = {.argv = argv,
			    .envp = envp,
			    .search_path = !strchr(bin, '/'),
			    .stdin_fd = -1,
			    .stdout_fd = -1,
			    .stderr_fd = err[1],
			    .new_session = true};
	pid_t pid;
	int rc = sv_spawn(&so, &pid, NULL);
	close(err[1]);
	if (rc) {
		close(err[0]);
		return sv_err(SV_EUNSUPPORTED, "starting %s for %s (the wireguard-go package): %s", bin,
			      ifname, sv_last_error());
	}
	int status = 0;
	rc = sv_reap(pid, WG_GO_TIMEOUT_MS, &status);
	char text[512];
	drain(err[0], text, sizeof(text));
	close(err[0]);
	if (rc) {
		kill(pid, SIGKILL);
		sv_reap(pid, 2000, &status);
		return sv_err(SV_ETIMEOUT, "starting %s for %s: no answer within %d ms", bin, ifname,
			      WG_GO_TIMEOUT_MS);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* Its last line says why (the banner about kernel support comes first). */
		const char *last = strrchr(text, '\n');
		return sv_err(SV_ENETWORK, "starting %s for %s: %s: %s", bin, ifname,
			      sv_describe_wait_status(status),
			      last	? last + 1
			      : text[0] ? text
					: "(no message)");
	}
	return 0;
}

/* Connects to ifname's UAPI socket, which must be a socket of ours. */
static int uapi_connect(const char *ifname, int *fd_out)
{
	char path[64];
	sv_wg_uapi_path(path, ifname);
	struct stat st;
	if (lstat(path, &st) != 0)
		return sv_err_errno(errno == ENOENT ? SV_ENOTFOUND : SV_EIO, errno,
				    "WireGuard control socket %s", path);
	if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid())
		return sv_err(SV_EUNSAFE, "WireGuard control socket %s: not a socket of user %u; left alone",
			      path, (unsigned)geteuid());
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	struct timeval tv = {.tv_sec = UAPI_TIMEOUT_S};
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return sv_err_errno(e == ENOENT || e == ECONNREFUSED ? SV_ENOTFOUND : SV_ENETWORK, e,
				    "connecting to WireGuard control socket %s", path);
	}
	*fd_out = fd;
	return 0;
}

static int userspace_configure(const char *ifname, const sv_wg_config *cfg)
{
	char *req = NULL;
	int fd = -1;
	int rc = sv_wg_uapi_set_text(&req, cfg);
	if (rc || (rc = uapi_connect(ifname, &fd)))
		goto out;
	size_t len = strlen(req), done = 0;
	while (done < len) {
		ssize_t n = write(fd, req + done, len - done);
		if (n <= 0) {
			rc = sv_err_errno(SV_ENETWORK, errno,
					  "configuring %s through wireguard-go's socket: writing", ifname);
			goto out;
		}
		done += (size_t)n;
	}
	char answer[256];
	size_t got = 0;
	while (got + 1 < sizeof(answer)) {
		ssize_t n = read(fd, answer + got, sizeof(answer) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		answer[got] = '\0';
		if (strstr(answer, "\n\n"))
			break;
	}
	answer[got] = '\0';
	int err = -1;
	if (sscanf(answer, "errno=%d", &err) != 1)
		rc = sv_err(SV_ENETWORK, "configuring %s through wireguard-go's socket: no answer", ifname);
	else if (err != 0)
		rc = sv_err(SV_ENETWORK,
			    "configuring %s: wireguard-go refused the configuration (errno=%d: %s)", ifname,
			    err, strerror(err));
out:
	if (fd >= 0)
		close(fd);
	if (req) {
		explicit_bzero(req, strlen(req));
		free(req);
	}
	return rc;
}

const sv_wg_backend sv_wg_userspace_backend = {"wireguard-go", userspace_create, userspace_configure};

int sv_wg_uapi_server_pid(const char *ifname, pid_t *pid)
{
	int fd;
	int rc = uapi_connect(ifname, &fd);
	if (rc)
		return rc;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	rc = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0
		 ? 0
		 : sv_err_errno(SV_EIO, errno, "who serves WireGuard interface %s", ifname);
	close(fd);
	if (!rc)
		*pid = cred.pid;
	return rc;
}
