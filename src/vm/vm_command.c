/* A VM that runs one command (include/smartvm/command.h): its smartvm.cmd=
 * boot argument and the reading of its console.
 *
 * The console is opened by the boot step (sv_vm__command_apply), before the
 * VMM is launched, and held until the VM is freed: the VM directory, console
 * included, is removed as soon as the VMM ends, and the open descriptor is
 * what still lets the output be read afterwards. Reads never block (the
 * console is a regular file); waiting is sv_vm_wait's job. */
#include "vm/vm_internal.h"

#include "util/buf.h"
#include "util/error.h"
#include "util/spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <smartvm/command.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POLL_MS 50

struct sv_vm_command {
	char *boot_arg; /* smartvm.cmd=... */
	int console_fd; /* -1 until the boot step opened it */
	sv_command_console *reader;
	sv_buf fresh; /* output read by the last pump, not yet handed out */
};

void sv_vm__command_free(struct sv_vm_command *cmd)
{
	if (!cmd)
		return;
	if (cmd->console_fd >= 0)
		close(cmd->console_fd);
	sv_command_console_free(cmd->reader);
	free(cmd->boot_arg);
	sv_buf_free(&cmd->fresh);
	free(cmd);
}

int sv_vm_set_command(sv_vm *vm, const char *const *argv)
{
	sv_err_clear();
	if (vm->state != SV_VM_CREATED)
		return sv_err(SV_EINVALID_STATE, "VM \"%s\" is %s; set command is allowed when created",
			      vm->id, sv_vm_state_name(vm->state));
	struct sv_vm_command *cmd = NULL;
	if (argv) {
		cmd = calloc(1, sizeof(*cmd));
		if (!cmd)
			return sv_err(SV_ENOMEM, "out of memory");
		cmd->console_fd = -1;
		int rc = sv_command_boot_arg(&cmd->boot_arg, argv);
		if (!rc)
			rc = sv_command_console_new(&cmd->reader);
		if (rc) {
			sv_vm__command_free(cmd);
			return rc;
		}
	}
	sv_vm__command_free(vm->command);
	vm->command = cmd;
	return 0;
}

/* args without any smartvm.cmd= word, plus " " plus arg. malloc'd. */
static char *replace_command_word(const char *args, const char *arg)
{
	size_t key_len = strlen("smartvm.cmd=");
	char *out = malloc(strlen(args) + strlen(arg) + 2);
	if (!out)
		return NULL;
	char *o = out;
	for (const char *p = args; *p;) {
		while (*p == ' ')
			p++;
		const char *end = p + strcspn(p, " ");
		if (end > p && strncmp(p, "smartvm.cmd=", key_len) != 0) {
			if (o > out)
				*o++ = ' ';
			memcpy(o, p, (size_t)(end - p));
			o += end - p;
		}
		p = end;
	}
	if (o > out)
		*o++ = ' ';
	strcpy(o, arg);
	return out;
}

int sv_vm__command_apply(sv_vm *vm)
{
	struct sv_vm_command *cmd = vm->command;
	if (!cmd)
		return 0;
	const char *base = vm->staged->boot_source.boot_args;
	if (!base)
		base = vm->backend->default_boot_args ? vm->backend->default_boot_args : "";
	char *joined = replace_command_word(base, cmd->boot_arg);
	if (!joined)
		return sv_err(SV_ENOMEM, "out of memory");
	if (strlen(joined) + 1 > SV_COMMAND_LINE_MAX) {
		size_t len = strlen(joined);
		free(joined);
		return sv_err(SV_EINVAL,
			      "command: the kernel command line would be %zu bytes long (at most %d)", len,
			      SV_COMMAND_LINE_MAX - 1);
	}
	/* The staged config is the VM's own deep copy: its strings are ours. */
	free((char *)vm->staged->boot_source.boot_args);
	vm->staged->boot_source.boot_args = joined;
	/* Opened (and created) before the VMM exists, so no output is missed and
	 * the output outlives the VM directory. The supervisor appends to it. */
	if (cmd->console_fd >= 0)
		close(cmd->console_fd);
	cmd->console_fd = open(vm->console_path, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (cmd->console_fd < 0)
		return sv_err_errno(SV_EIO, errno, "opening the console %s", vm->console_path);
	return 0;
}

/* Reads whatever the console has gained into the reader; its output is
 * appended to cmd->fresh. */
static int pump(sv_vm *vm)
{
	struct sv_vm_command *cmd = vm->command;
	char chunk[65536];
	for (;;) {
		ssize_t n = read(cmd->console_fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sv_err_errno(SV_EIO, errno, "reading the console %s", vm->console_path);
		if (n == 0)
			return 0;
		const char *out = NULL;
		size_t out_len = 0;
		int rc = sv_command_console_feed(cmd->reader, chunk, (size_t)n, &out, &out_len);
		if (rc || (out_len && (rc = sv_buf_append(&cmd->fresh, out, out_len))))
			return rc;
	}
}

static int require_command(const sv_vm *vm)
{
	if (!vm->command)
		return sv_err(SV_EINVALID_STATE, "VM \"%s\" has no command (sv_vm_set_command)", vm->id);
	if (vm->command->console_fd < 0)
		return sv_err(SV_EINVALID_STATE,
			      "VM \"%s\" is %s; its command's output is there once started", vm->id,
			      sv_vm_state_name(vm->state));
	return 0;
}

int sv_vm_command_output(sv_vm *vm, const char **output, size_t *output_len)
{
	sv_err_clear();
	*output = "";
	*output_len = 0;
	int rc = require_command(vm);
	if (rc)
		return rc;
	struct sv_vm_command *cmd = vm->command;
	cmd->fresh.len = 0;
	if ((rc = pump(vm)))
		return sv_err_prefix("VM \"%s\"", vm->id);
	*output = cmd->fresh.data ? cmd->fresh.data : "";
	*output_len = cmd->fresh.len;
	return 0;
}

bool sv_vm_command_finished(const sv_vm *vm, int *status)
{
	return vm->command && sv_command_console_finished(vm->command->reader, status);
}

int sv_vm_wait_command(sv_vm *vm, int timeout_ms, char **output, size_t *output_len, int *status)
{
	sv_err_clear();
	if (output)
		*output = NULL;
	if (output_len)
		*output_len = 0;
	int rc = require_command(vm);
	if (rc)
		return rc;
	struct sv_vm_command *cmd = vm->command;
	long long deadline = timeout_ms < 0 ? -1 : sv_now_ms() + timeout_ms;
	cmd->fresh.len = 0;
	bool ended = false;
	for (;;) {
		if ((rc = pump(vm)))
			return sv_err_prefix("VM \"%s\"", vm->id);
		bool finished = sv_command_console_finished(cmd->reader, NULL);
		if (finished && ended)
			break;
		if (ended)
			return sv_err(SV_EPROCESS, "VM \"%s\" ended before its command finished: %s", vm->id,
				      vm->end_reason && *vm->end_reason ? vm->end_reason
									: sv_vm_state_name(vm->state));
		long long left = deadline < 0 ? POLL_MS : deadline - sv_now_ms();
		if (left <= 0)
			return sv_err(SV_ETIMEOUT, "VM \"%s\": its command %s within %d ms", vm->id,
				      finished ? "finished but the VM did not power off" : "did not finish",
				      timeout_ms);
		/* Finished: the guest powers off now; wait for that without polling. */
		rc = sv_vm_wait(vm, finished ? (int)left : (int)(left < POLL_MS ? left : POLL_MS));
		if (rc == 0)
			ended = true; /* one more pump reads what the console got last */
		else if (rc != SV_ETIMEOUT)
			return rc;
	}
	sv_command_console_finished(cmd->reader, status);
	if (output) {
		*output = malloc(cmd->fresh.len + 1);
		if (!*output)
			return sv_err(SV_ENOMEM, "out of memory");
		if (cmd->fresh.len)
			memcpy(*output, cmd->fresh.data, cmd->fresh.len);
		(*output)[cmd->fresh.len] = '\0';
	}
	if (output_len)
		*output_len = cmd->fresh.len;
	return 0;
}
