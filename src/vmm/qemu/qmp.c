/* QMP over a unix socket (see qmp.h).
 *
 * QEMU sends one JSON object per line ("\r\n"). Lines are accumulated in a
 * buffer and parsed with jansson; a reply is the first object with "return"
 * or "error", and "event" objects in between are dropped. Every wait uses
 * poll() against one deadline per command, so a wedged QEMU costs at most the
 * timeout. Never blocks without a timeout; never parses JSON by hand.
 */
#include "vmm/qemu/qmp.h"

#include "util/error.h"
#include "util/escape.h"
#include "util/spawn.h"
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Greeting, replies and events are small; a bigger line means something is off. */
#define QMP_MAX_LINE (4u << 20)

struct sv_qmp {
	int fd;
	int timeout_ms;
	char *path;
	char *buf;
	size_t len;
	size_t cap;
	json_t *greeting;
	int peer_pid;
};

static int attach(sv_qmp *qmp);

static int wait_fd(sv_qmp *qmp, short events, long long deadline, const char *what)
{
	for (;;) {
		int left = (int)(deadline - sv_now_ms());
		if (left < 0)
			left = 0;
		struct pollfd p = { .fd = qmp->fd, .events = events };
		int n = poll(&p, 1, left);
		if (n > 0)
			return 0;
		if (n == 0)
			return sv_err(SV_ETIMEOUT, "QMP %s: %s: no answer within %d ms", qmp->path, what,
				      qmp->timeout_ms);
		if (errno != EINTR)
			return sv_err_errno(SV_EIO, errno, "QMP %s: poll", qmp->path);
	}
}

/* Reads the next complete line (without the line ending) into *line_out, a
 * malloc'd string. */
static int read_line(sv_qmp *qmp, long long deadline, const char *what, char **line_out)
{
	for (;;) {
		char *nl = qmp->len ? memchr(qmp->buf, '\n', qmp->len) : NULL;
		if (nl) {
			size_t n = (size_t)(nl - qmp->buf);
			char *line = strndup(qmp->buf, n);
			if (!line)
				return sv_err(SV_ENOMEM, "out of memory");
			memmove(qmp->buf, nl + 1, qmp->len - n - 1);
			qmp->len -= n + 1;
			*line_out = line;
			return 0;
		}
		if (qmp->len >= QMP_MAX_LINE)
			return sv_err(SV_EVMM, "QMP %s: %s: reply line longer than %u bytes", qmp->path, what,
				      QMP_MAX_LINE);
		if (qmp->cap - qmp->len < 4096) {
			size_t cap = qmp->cap ? qmp->cap * 2 : 8192;
			char *nb = realloc(qmp->buf, cap);
			if (!nb)
				return sv_err(SV_ENOMEM, "out of memory");
			qmp->buf = nb;
			qmp->cap = cap;
		}
		int rc = wait_fd(qmp, POLLIN, deadline, what);
		if (rc)
			return rc;
		ssize_t got = recv(qmp->fd, qmp->buf + qmp->len, qmp->cap - qmp->len, 0);
		if (got == 0)
			return sv_err(SV_EPROCESS, "QMP %s: %s: QEMU closed the connection", qmp->path, what);
		if (got < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == ECONNRESET)
				return sv_err(SV_EPROCESS, "QMP %s: %s: QEMU closed the connection", qmp->path, what);
			return sv_err_errno(SV_EIO, errno, "QMP %s: %s: recv", qmp->path, what);
		}
		qmp->len += (size_t)got;
	}
}

/* The next message that is not an event. */
static int read_message(sv_qmp *qmp, long long deadline, const char *what, json_t **out)
{
	for (;;) {
		char *line = NULL;
		int rc = read_line(qmp, deadline, what, &line);
		if (rc)
			return rc;
		json_error_t jerr;
		json_t *msg = json_loads(line, 0, &jerr);
		free(line);
		if (!msg || !json_is_object(msg)) {
			json_decref(msg);
			return sv_err(SV_EVMM, "QMP %s: %s: reply is not a JSON object", qmp->path, what);
		}
		if (json_object_get(msg, "event")) {
			json_decref(msg);
			continue;
		}
		*out = msg;
		return 0;
	}
}

/* Sends all of text, with fd as SCM_RIGHTS on the first chunk if fd >= 0. */
static int send_all(sv_qmp *qmp, const char *text, int fd, long long deadline, const char *what)
{
	size_t len = strlen(text), off = 0;
	while (off < len) {
		int rc = wait_fd(qmp, POLLOUT, deadline, what);
		if (rc)
			return rc;
		struct iovec iov = { .iov_base = (char *)text + off, .iov_len = len - off };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} ctl;
		if (fd >= 0 && off == 0) {
			memset(&ctl, 0, sizeof(ctl));
			mh.msg_control = ctl.buf;
			mh.msg_controllen = sizeof(ctl.buf);
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &fd, sizeof(int));
		}
		ssize_t n = sendmsg(qmp->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				return sv_err(SV_EPROCESS, "QMP %s: %s: QEMU closed the connection", qmp->path, what);
			return sv_err_errno(SV_EIO, errno, "QMP %s: %s: send", qmp->path, what);
		}
		off += (size_t)n;
	}
	return 0;
}

int sv_qmp_execute_with_fd(sv_qmp *qmp, const char *command, json_t *arguments, int pass_fd,
			   json_t **ret_out)
{
	if (qmp->fd < 0) { /* released: connect again */
		int rc = attach(qmp);
		if (rc)
			return rc;
	}
	long long deadline = sv_now_ms() + qmp->timeout_ms;
	json_t *req = json_pack("{s:s}", "execute", command);
	if (!req || (arguments && json_object_set(req, "arguments", arguments)))
		goto oom;
	char *text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	req = NULL;
	if (!text)
		goto oom;
	char *line = NULL;
	if (asprintf(&line, "%s\n", text) < 0)
		line = NULL;
	free(text);
	if (!line)
		goto oom;
	int rc = send_all(qmp, line, pass_fd, deadline, command);
	free(line);
	if (rc)
		return rc;

	json_t *reply = NULL;
	rc = read_message(qmp, deadline, command, &reply);
	if (rc)
		return rc;
	json_t *err = json_object_get(reply, "error");
	if (err) {
		const char *cls = json_string_value(json_object_get(err, "class"));
		const char *desc = json_string_value(json_object_get(err, "desc"));
		const char *text = desc ? desc : cls ? cls : "error";
		char *quoted = sv_escape_text(text, strlen(text), NULL); /* QEMU's words, not ours */
		rc = sv_err(SV_EVMM, "QMP %s: %s", command, quoted ? quoted : "error");
		free(quoted);
		json_decref(reply);
		return rc;
	}
	json_t *ret = json_object_get(reply, "return");
	if (!ret) {
		json_decref(reply);
		return sv_err(SV_EVMM, "QMP %s: reply has neither return nor error", command);
	}
	if (ret_out)
		*ret_out = json_incref(ret);
	json_decref(reply);
	return 0;
oom:
	json_decref(req);
	return sv_err(SV_ENOMEM, "out of memory");
}

int sv_qmp_execute(sv_qmp *qmp, const char *command, json_t *arguments, json_t **ret_out)
{
	return sv_qmp_execute_with_fd(qmp, command, arguments, -1, ret_out);
}

static void sleep_ms(int ms)
{
	poll(NULL, 0, ms);
}

/* Connects, retrying while QEMU has bound the socket but not yet listens
 * (ECONNREFUSED) until the deadline. */
static int open_socket(sv_qmp *qmp, const char *socket_path, long long deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return sv_err(SV_EINVAL, "QMP %s: socket path longer than %zu bytes", socket_path,
			      sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, socket_path);
	for (;;) {
		qmp->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (qmp->fd < 0)
			return sv_err_errno(SV_EIO, errno, "QMP %s: socket", socket_path);
		if (connect(qmp->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		int e = errno;
		close(qmp->fd);
		qmp->fd = -1;
		if (e != ECONNREFUSED || sv_now_ms() >= deadline)
			return sv_err_errno(e == ENOENT || e == ECONNREFUSED ? SV_EPROCESS : SV_EIO, e,
					    "QMP %s: connect", socket_path);
		sleep_ms(10);
	}
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	if (getsockopt(qmp->fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
		qmp->peer_pid = (int)cred.pid;
	return 0;
}

/* Connects, reads the greeting and negotiates capabilities; on failure the
 * socket is closed again. */
static int attach(sv_qmp *qmp)
{
	long long deadline = sv_now_ms() + qmp->timeout_ms;
	qmp->len = 0;
	int rc = open_socket(qmp, qmp->path, deadline);
	if (rc)
		return rc;
	/* QEMU serves one monitor client at a time: a second client sees no
	 * greeting until the first disconnects, hence the timeout here too. */
	json_t *greeting = NULL;
	rc = read_message(qmp, deadline, "greeting", &greeting);
	if (!rc && !json_object_get(greeting, "QMP"))
		rc = sv_err(SV_EVMM, "QMP %s: the greeting has no \"QMP\" object", qmp->path);
	if (!rc) {
		json_decref(qmp->greeting);
		qmp->greeting = json_incref(greeting);
		rc = sv_qmp_execute(qmp, "qmp_capabilities", NULL, NULL);
	}
	json_decref(greeting);
	if (rc)
		sv_qmp_release(qmp);
	return rc;
}

int sv_qmp_connect(sv_qmp **out, const char *socket_path, int timeout_ms)
{
	*out = NULL;
	sv_qmp *qmp = calloc(1, sizeof(*qmp));
	if (!qmp)
		return sv_err(SV_ENOMEM, "out of memory");
	qmp->fd = -1;
	qmp->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	qmp->path = strdup(socket_path);
	int rc = qmp->path ? attach(qmp) : sv_err(SV_ENOMEM, "out of memory");
	if (rc) {
		sv_qmp_close(qmp);
		return rc;
	}
	*out = qmp;
	return 0;
}

void sv_qmp_release(sv_qmp *qmp)
{
	if (qmp && qmp->fd >= 0) {
		close(qmp->fd);
		qmp->fd = -1;
		qmp->len = 0;
	}
}

void sv_qmp_close(sv_qmp *qmp)
{
	if (!qmp)
		return;
	sv_qmp_release(qmp);
	json_decref(qmp->greeting);
	free(qmp->buf);
	free(qmp->path);
	free(qmp);
}

const json_t *sv_qmp_greeting_version(const sv_qmp *qmp)
{
	return json_object_get(json_object_get(qmp->greeting, "QMP"), "version");
}

int sv_qmp_peer_pid(const sv_qmp *qmp)
{
	return qmp->peer_pid;
}
