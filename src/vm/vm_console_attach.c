/* sv_vm_console_attach: a client's end of <vm dir>/console.sock (the
 * supervisor's end and the protocol are console_hub.c).
 *
 * The socket is trusted only as far as it is checked: a socket (not a link)
 * owned by us in the VM's checked directory, and the process listening on
 * it must be the VM's supervisor (SO_PEERCRED), since whoever answers gets
 * everything the user types. */
#include "util/error.h"
#include "vm/console_hub.h"
#include "vm/vm_agent.h"
#include "vm/vm_internal.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <smartvm/console.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* How long the supervisor may take to greet (it answers from its console
 * relay's poll loop, at once unless the host is overloaded). */
#define HELLO_TIMEOUT_MS 10000

/* The greeting line, read a byte at a time so nothing after it is taken. */
static int read_hello(int fd, char *line, size_t size)
{
	size_t n = 0;
	while (n + 1 < size) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, HELLO_TIMEOUT_MS);
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		ssize_t got = read(fd, line + n, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return got == 0 ? -ECONNRESET : -errno;
		if (line[n++] == '\n')
			break;
	}
	line[n] = '\0';
	return 0;
}

/* The supervisor removes the socket (and stops accepting) once the VMM
 * has exited, before it reports the end: a VM whose VMM is gone has ended,
 * whatever its state says yet. */
static bool vmm_gone(const sv_vm *vm)
{
	return vm->vmm_pid > 0 && kill(vm->vmm_pid, 0) != 0 && errno == ESRCH;
}

static int ended(const sv_vm *vm)
{
	return sv_err(SV_EINVALID_STATE, "VM \"%s\" has ended; attach needs it running", vm->id);
}

static int check_socket(sv_vm *vm)
{
	struct stat st;
	if (fstatat(vm->dir_fd, SV_VM_CONSOLE_SOCKET, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT && vmm_gone(vm))
			return ended(vm);
		if (errno == ENOENT)
			return sv_err(SV_EUNSUPPORTED,
				      "VM \"%s\": attaching to the console: no %s/%s (a VM started before "
				      "smartvm had attach?)",
				      vm->id, vm->dir, SV_VM_CONSOLE_SOCKET);
		return sv_err_errno(SV_EIO, errno, "VM \"%s\": %s/%s", vm->id, vm->dir, SV_VM_CONSOLE_SOCKET);
	}
	if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid())
		return sv_err(SV_EUNSAFE, "VM \"%s\": %s/%s is not a socket of uid %u; not attaching", vm->id,
			      vm->dir, SV_VM_CONSOLE_SOCKET, (unsigned)geteuid());
	return 0;
}

static int check_peer(sv_vm *vm, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return sv_err_errno(SV_EIO, errno, "VM \"%s\": attaching to the console: SO_PEERCRED", vm->id);
	if (cred.uid != geteuid() || (vm->supervisor_pid > 0 && cred.pid != vm->supervisor_pid))
		return sv_err(SV_EUNSAFE,
			      "VM \"%s\": %s/%s is served by process %d (uid %u), not by the VM's supervisor "
			      "(process %d); not attaching",
			      vm->id, vm->dir, SV_VM_CONSOLE_SOCKET, (int)cred.pid, (unsigned)cred.uid,
			      (int)vm->supervisor_pid);
	return 0;
}

int sv_vm_console_attach(sv_vm *vm, int *fd_out)
{
	sv_err_clear();
	*fd_out = -1;
	sv_vm__refresh(vm);
	int rc = sv_vm__require_state(vm, "attach", (1u << SV_VM_RUNNING) | (1u << SV_VM_PAUSED));
	if (rc)
		return rc;
	if (vm->dir_fd < 0)
		return sv_err(SV_EINVALID_STATE, "VM \"%s\": its directory is not open", vm->id);
	if ((rc = check_socket(vm)))
		return rc;
	int fd = sv_agent_unix_connect_at(vm->dir_fd, SV_VM_CONSOLE_SOCKET, false);
	if ((fd == -ECONNREFUSED || fd == -ENOENT) && vmm_gone(vm))
		return ended(vm);
	if (fd == -ECONNREFUSED)
		return sv_err(SV_EINVALID_STATE, "VM \"%s\": attaching to the console: nobody listens on %s/%s "
						 "(the VM is ending?)",
			      vm->id, vm->dir, SV_VM_CONSOLE_SOCKET);
	if (fd < 0)
		return sv_err_errno(SV_EIO, -fd, "VM \"%s\": attaching to the console: connecting to %s/%s",
				    vm->id, vm->dir, SV_VM_CONSOLE_SOCKET);
	if ((rc = check_peer(vm, fd))) {
		close(fd);
		return rc;
	}
	char line[SV_CONSOLE_HELLO_MAX];
	int e = read_hello(fd, line, sizeof(line));
	if (e == 0 && !strcmp(line, SV_CONSOLE_HELLO_OK)) {
		*fd_out = fd;
		return 0;
	}
	close(fd);
	size_t busy_len = strlen(SV_CONSOLE_HELLO_BUSY);
	if (e == 0 && !strncmp(line, SV_CONSOLE_HELLO_BUSY " ", busy_len + 1))
		return sv_err(SV_EBUSY, "VM \"%s\": its console is already attached (by process %d)", vm->id,
			      atoi(line + busy_len + 1));
	if (e == -ECONNRESET)
		return sv_err(SV_EINVALID_STATE,
			      "VM \"%s\": attaching to the console: the supervisor closed the connection (the "
			      "VM is ending?)",
			      vm->id);
	if (e)
		return sv_err_errno(SV_EIO, -e, "VM \"%s\": attaching to the console: waiting for the greeting",
				    vm->id);
	return sv_err(SV_EIO, "VM \"%s\": attaching to the console: unexpected greeting from the supervisor",
		      vm->id);
}
