/* agent.json (how the supervisor reaches a VM's agent) and unix-socket
 * connects that do not depend on the length of the VM directory's path:
 * sockets are reached through /proc/self/fd/<dir fd>/<name>, so a checked
 * directory fd is what names them, never a path string re-resolved later. */
#include "vm/vm_agent.h"

#include "util/error.h"
#include "util/file.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int sv_agent_transport_read(int dir_fd, const char *vm_dir, sv_agent_transport *t)
{
	memset(t, 0, sizeof(*t));
	char *text = NULL;
	int rc = sv_read_file_at(dir_fd, vm_dir, SV_VM_AGENT_FILE, 1 << 16, &text, NULL);
	if (rc)
		return rc;
	json_t *o = json_loads(text, 0, NULL);
	free(text);
	const char *kind = json_string_value(json_object_get(o, "transport"));
	const char *path = json_string_value(json_object_get(o, "path"));
	json_int_t port = json_integer_value(json_object_get(o, "port"));
	if (kind && !strcmp(kind, "serial"))
		t->kind = SV_AGENT_SERIAL;
	else if (kind && !strcmp(kind, "vsock"))
		t->kind = SV_AGENT_VSOCK;
	t->port = (uint32_t)port;
	t->path = path && path[0] == '/' ? strdup(path) : NULL;
	json_decref(o);
	if (!t->kind || !t->path || (t->kind == SV_AGENT_VSOCK && (port <= 0 || port > UINT32_MAX))) {
		sv_agent_transport_clear(t);
		return sv_err(SV_EINVAL, "%s/%s: not a valid agent transport", vm_dir, SV_VM_AGENT_FILE);
	}
	return 0;
}

void sv_agent_transport_clear(sv_agent_transport *t)
{
	free(t->path);
	memset(t, 0, sizeof(*t));
}

int sv_agent_unix_connect_at(int dir_fd, const char *name, bool nonblock)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dir_fd, name) >=
	    (int)sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int sv_agent_unix_connect(const char *path, bool nonblock)
{
	char *d = strdup(path), *b = strdup(path);
	int rc = -ENOMEM;
	if (d && b) {
		int dir_fd = open(dirname(d), O_PATH | O_DIRECTORY | O_CLOEXEC);
		rc = dir_fd < 0 ? -errno : sv_agent_unix_connect_at(dir_fd, basename(b), nonblock);
		if (dir_fd >= 0)
			close(dir_fd);
	}
	free(d);
	free(b);
	return rc;
}
