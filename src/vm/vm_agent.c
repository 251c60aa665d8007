/* The VM's side of the guest agent: the boot arguments and devices it
 * needs, agent.json for the supervisor, and clients' connections to
 * <vm dir>/agent.sock (through the VM dir's checked fd).
 *
 * Every Firecracker VM gets a vsock device (uds_path <vm dir>/vsock.sock)
 * when its config has none, as every QEMU VM gets the agent's serial port
 * (qemu_agent_port.c): a device costs nothing until used, and then any
 * image with the agent works without configuration. A config's own vsock
 * serves the agent as well (port 1024; the user's other ports are theirs).
 * A snapshot of a Firecracker VM therefore always has a vsock device, and
 * a restore gets one too (snapshots made before smartvm did this cannot be
 * restored: Firecracker refuses a vsock override for them). */
#include "vm/vm_agent.h"

#include "agent_proto.h"
#include "util/error.h"
#include "util/file.h"
#include "vm/vm_internal.h"
#include "vmm/qemu/qemu.h"
#include "util/spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <smartvm/agent.h>
#include <smartvm/command.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXEC_AGENT_ARG "smartvm.exec=agent"

int sv_vm_set_agent_exec(sv_vm *vm, bool on)
{
	sv_err_clear();
	int rc = sv_vm__require_state(vm, "set agent exec", 1u << SV_VM_CREATED);
	if (rc)
		return rc;
	vm->agent_exec = on;
	return 0;
}

static bool has_word(const char *args, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = args; (p = strstr(p, word)); p += n)
		if ((p == args || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

static int add_exec_arg(sv_vm *vm)
{
	const char *base = vm->staged->boot_source.boot_args;
	if (!base)
		base = vm->backend->default_boot_args ? vm->backend->default_boot_args : "";
	if (has_word(base, EXEC_AGENT_ARG))
		return 0;
	char *joined = NULL;
	if (asprintf(&joined, "%s%s" EXEC_AGENT_ARG, base, *base ? " " : "") < 0)
		return sv_err(SV_ENOMEM, "out of memory");
	if (strlen(joined) + 1 > SV_COMMAND_LINE_MAX) {
		size_t len = strlen(joined);
		free(joined);
		return sv_err(SV_EINVAL,
			      "boot_source.boot_args: with " EXEC_AGENT_ARG " the kernel command line "
			      "would be %zu bytes long (at most %d)",
			      len, SV_COMMAND_LINE_MAX - 1);
	}
	free((char *)vm->staged->boot_source.boot_args);
	vm->staged->boot_source.boot_args = joined;
	return 0;
}

static int add_default_vsock(sv_vm *vm)
{
	sv_vsock_config *v = calloc(1, sizeof(*v));
	char *uds = sv_path_join(vm->dir, SV_VM_AGENT_VSOCK);
	if (!v || !uds) {
		free(v);
		free(uds);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	v->guest_cid = SV_VM_AGENT_GUEST_CID;
	v->uds_path = uds;
	vm->staged->vsock = v;
	return 0;
}

int sv_vm__agent_apply(sv_vm *vm)
{
	int rc = vm->agent_exec ? add_exec_arg(vm) : 0;
	/* A restore too: the VM the snapshot was taken of had one (every
	 * Firecracker VM smartvm boots does), and Firecracker must be told
	 * where this VM's socket is (vsock_override), or it binds the old one. */
	if (!rc && vm->backend == &sv_vmm_firecracker_ops && !vm->staged->vsock)
		rc = add_default_vsock(vm);
	return rc;
}

int sv_vm__agent_record(sv_vm *vm)
{
	json_t *o = NULL;
	if (vm->backend == &sv_vmm_qemu_ops) {
		char *path = sv_path_join(vm->dir, SV_QEMU_AGENT_PORT_SOCKET);
		o = path ? json_pack("{s:s, s:s}", "transport", "serial", "path", path) : NULL;
		free(path);
	} else if (vm->staged->vsock && vm->staged->vsock->uds_path) {
		char *path = sv_vm__host_path(vm, vm->staged->vsock->uds_path);
		o = path ? json_pack("{s:s, s:s, s:i}", "transport", "vsock", "path", path, "port",
				     SVA_VSOCK_PORT)
			 : NULL;
		free(path);
	} else {
		return 0;
	}
	char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
	json_decref(o);
	int rc =
	    text ? sv_write_file_atomic_at(vm->dir_fd, vm->dir, SV_VM_AGENT_FILE, text, strlen(text), 0600)
		 : sv_err(SV_ENOMEM, "out of memory");
	free(text);
	return rc;
}

int sv_vm__agent_socket(sv_vm *vm, const char *what, int *fd_out)
{
	*fd_out = -1;
	sv_vm__refresh(vm);
	int rc = sv_vm__require_state(vm, what, (1u << SV_VM_RUNNING) | (1u << SV_VM_PAUSED));
	if (rc)
		return rc;
	if (vm->dir_fd < 0)
		return sv_err(SV_EINVALID_STATE, "VM \"%s\": its directory is not open", vm->id);
	int fd = sv_agent_unix_connect_at(vm->dir_fd, SV_VM_AGENT_SOCKET, false);
	if (fd == -ENOENT || fd == -ECONNREFUSED)
		return sv_err(SV_EUNSUPPORTED,
			      "VM \"%s\": %s: no %s/%s (a VM started before smartvm had the agent?)", vm->id,
			      what, vm->dir, SV_VM_AGENT_SOCKET);
	if (fd < 0)
		return sv_err_errno(SV_EIO, -fd, "VM \"%s\": %s: connecting to %s/%s", vm->id, what, vm->dir,
				    SV_VM_AGENT_SOCKET);
	*fd_out = fd;
	return 0;
}

/* The start line the init writes before running a command on the console
 * (guest/README.md). */
#define CONSOLE_START "=== smartvm: command start ===\n"
#define AGENT_TRY_MS 500

/* True when the console log shows the start line; reads on from *offset. */
static bool console_started(const sv_vm *vm, off_t *offset)
{
	int fd = open(vm->console_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	/* Each read overlaps the last by a start line's length, in case one
	 * was cut in two. */
	const size_t overlap = sizeof(CONSOLE_START) - 1;
	char buf[65536];
	bool found = false;
	for (;;) {
		off_t at = *offset > (off_t)overlap ? *offset - (off_t)overlap : 0;
		ssize_t n = pread(fd, buf, sizeof(buf), at);
		if (n <= 0)
			break;
		found = memmem(buf, (size_t)n, CONSOLE_START, overlap) != NULL;
		if (found || at + n <= *offset || n < (ssize_t)sizeof(buf)) {
			if (at + n > *offset)
				*offset = at + n;
			break;
		}
		*offset = at + n;
	}
	close(fd);
	return found;
}

int sv_vm_command_via_agent(sv_vm *vm, int timeout_ms, bool *via_agent)
{
	sv_err_clear();
	*via_agent = false;
	long long deadline = timeout_ms < 0 ? -1 : sv_now_ms() + timeout_ms;
	off_t offset = 0;
	for (;;) {
		if (console_started(vm, &offset))
			return 0;
		long long left = deadline < 0 ? AGENT_TRY_MS : deadline - sv_now_ms();
		int rc = sv_vm_agent_wait(
		    vm, (int)(left < AGENT_TRY_MS ? (left > 0 ? left : 0) : AGENT_TRY_MS), NULL);
		if (rc == 0) {
			*via_agent = true;
			return 0;
		}
		/* The VM ended before its agent answered: whatever happened is on
		 * the console (a command that started and ended quickly, a panic
		 * before it started), whose reader says which. console.log may be
		 * gone with the VM's directory by now; the console pipe is not. */
		if (rc == SV_EINVALID_STATE || rc == SV_EPROCESS) {
			sv_err_clear();
			return 0;
		}
		if (rc != SV_ETIMEOUT && rc != SV_EUNSUPPORTED)
			return rc;
		if (deadline >= 0 && sv_now_ms() >= deadline)
			return sv_err(SV_ETIMEOUT,
				      "VM \"%s\": neither did its agent answer nor did its command start "
				      "within %d ms",
				      vm->id, timeout_ms);
	}
}
