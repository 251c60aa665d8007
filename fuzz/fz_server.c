/* The fuzz harnesses' socket peer (see fz_server.h). One thread serves one
 * connection at a time; every wait is bounded, so a client that never closes
 * costs a timeout, not a hang. */
#include "fz_server.h"

#include "fuzz.h"
#include "util/file.h"
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define WAIT_MS 2000

struct fz_server {
	fz_serve_mode mode;
	char *dir;
	char *socket_path;
	int listen_fd;
	pthread_mutex_t lock;
	uint8_t *reply;
	size_t reply_len;
};

static bool wait_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, WAIT_MS) > 0;
}

/* Reads up to the end of an HTTP request's headers (smartvm's harnessed
 * requests have no body). */
static void read_request(int fd)
{
	char buf[8192];
	size_t len = 0;
	while (len < sizeof(buf) - 1 && wait_readable(fd)) {
		ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0)
			return;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			return;
	}
}

static void serve(fz_server *s, int fd)
{
	if (s->mode == FZ_SERVE_AFTER_REQUEST)
		read_request(fd);
	pthread_mutex_lock(&s->lock);
	size_t len = s->reply_len;
	uint8_t *reply = malloc(len ? len : 1);
	FZ_CHECK(reply);
	if (len)
		memcpy(reply, s->reply, len);
	pthread_mutex_unlock(&s->lock);
	for (size_t off = 0; off < len;) {
		ssize_t n = send(fd, reply + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(reply);
	shutdown(fd, SHUT_WR);
	char sink[4096];
	while (wait_readable(fd) && recv(fd, sink, sizeof(sink), 0) > 0)
		;
	close(fd);
}

static void *serve_forever(void *arg)
{
	fz_server *s = arg;
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		serve(s, fd);
	}
}

static fz_server *the_server;

static void remove_server(void)
{
	if (the_server)
		fz_rm_tmpdir(the_server->dir);
}

fz_server *fz_server_start(const char *name, fz_serve_mode mode)
{
	fz_server *s = calloc(1, sizeof(*s));
	FZ_CHECK(s && !the_server);
	s->mode = mode;
	s->dir = fz_tmpdir(name);
	s->socket_path = sv_path_join(s->dir, "api.sock");
	FZ_CHECK(s->socket_path);
	pthread_mutex_init(&s->lock, NULL);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	FZ_CHECK(strlen(s->socket_path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, s->socket_path);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	FZ_CHECK(s->listen_fd >= 0);
	FZ_CHECK(bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	FZ_CHECK(listen(s->listen_fd, 16) == 0);
	pthread_t t;
	FZ_CHECK(pthread_create(&t, NULL, serve_forever, s) == 0);
	pthread_detach(t);
	the_server = s;
	atexit(remove_server);
	return s;
}

const char *fz_server_socket(const fz_server *s) { return s->socket_path; }

void fz_server_set_reply(fz_server *s, const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	FZ_CHECK(copy);
	if (size)
		memcpy(copy, data, size);
	pthread_mutex_lock(&s->lock);
	free(s->reply);
	s->reply = copy;
	s->reply_len = size;
	pthread_mutex_unlock(&s->lock);
}

sv_vmm *fz_vmm_connect(fz_server *s, const sv_vmm_ops *ops, const uint8_t *data, size_t size)
{
	fz_server_set_reply(s, data, size);
	sv_vmm *vmm = NULL;
	/* Short: an answer that never ends costs this much per request. */
	return ops->connect(&vmm, s->socket_path, 2000) == 0 ? vmm : NULL;
}

int fz_vmm_get(sv_vmm *vmm, int (*get)(sv_vmm *vmm, char **out), bool json)
{
	char *text = NULL;
	int rc = get(vmm, &text);
	if (rc == 0) {
		FZ_CHECK(text);
		if (json) {
			json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
			FZ_CHECK(j);
			json_decref(j);
		}
	}
	free(text);
	return rc;
}
