/* A VM that runs one command (include/smartvm/command.h): its smartvm.cmd=
 * boot argument, its deadline, and the reading of its console.
 *
 * The console reaches us on a pipe from the VM's supervisor (vmm_output.c),
 * byte for byte, whatever happens to the capped console log or the runtime
 * fs. Everything on it is the guest's, so the command's result is decided
 * only once the VM has ended: it finished if the console's last exit line
 * was final (command_console.c) and the VM powered off on its own (or on
 * sv_vm_stop) — never on a line alone. A guest that prints an exit line and
 * then does not power off is killed after SV_COMMAND_POWEROFF_GRACE_MS; a
 * deadline (sv_command_options.timeout_ms) is enforced by the supervisor,
 * which kills the VMM even if nobody reads. Every wait here is bounded. */
#include "vm/vm_internal.h"

#include "guest_cmd.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <smartvm/command.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The longest single sleep: the VM's state is looked at least this often. */
#define POLL_MAX_MS 200
/* After the VM ended, how long the rest of its console may take to arrive
 * (the supervisor closes the pipe before it reports, so this is slack). */
#define DRAIN_MS 5000
/* The console pipe's size: how much a guest may print ahead of its reader. */
#define CONSOLE_PIPE_BYTES (1024 * 1024)
/* Output arrives a few bytes at a time (an emulated serial port): once some
 * came, wait this much longer for more before handing it out, so a caller
 * is not woken (and does not print) once per byte. */
#define COALESCE_MS 20
#define COALESCE_ENOUGH 65536

struct sv_vm_command {
	char *boot_arg;	       /* smartvm.cmd=... */
	json_t *argv;	       /* the command as given (an array), for the end record */
	int timeout_ms;	       /* 0 = none */
	long long deadline_ms; /* CLOCK_MONOTONIC; 0 = none; set at boot */
	int console_fd;	       /* the console pipe's read end; -1 until launch */
	bool console_eof;
	sv_command_console *reader;
	sv_buf fresh;		  /* output read, not yet handed out */
	long long fresh_since_ms; /* when the first of it came; 0 = none */
	long long exited_at_ms;	  /* when the reader saw a candidate exit line; 0 = none */
	bool gave_up;		  /* killed: an exit line but no power-off */
	bool done;		  /* the result is decided */
	int rc;			  /* done: 0 (finished) or the error */
	char *message;		  /* done with an error: its message */
};

void sv_vm__command_free(struct sv_vm_command *cmd)
{
	if (!cmd)
		return;
	if (cmd->console_fd >= 0)
		close(cmd->console_fd);
	sv_command_console_free(cmd->reader);
	json_decref(cmd->argv);
	free(cmd->boot_arg);
	free(cmd->message);
	sv_buf_free(&cmd->fresh);
	free(cmd);
}

int sv_vm_set_command_options(sv_vm *vm, const char *const *argv, const sv_command_options *opts)
{
	sv_err_clear();
	if (vm->state != SV_VM_CREATED)
		return sv_err(SV_EINVALID_STATE, "VM \"%s\" is %s; set command is allowed when created",
			      vm->id, sv_vm_state_name(vm->state));
	if (opts && opts->version >= 1 && opts->timeout_ms < 0)
		return sv_err(SV_EINVAL, "command: timeout_ms: must be 0 (none) or positive, not %d",
			      opts->timeout_ms);
	struct sv_vm_command *cmd = NULL;
	if (argv) {
		cmd = calloc(1, sizeof(*cmd));
		if (!cmd)
			return sv_err(SV_ENOMEM, "out of memory");
		cmd->console_fd = -1;
		if (opts && opts->version >= 1)
			cmd->timeout_ms = opts->timeout_ms;
		int rc = sv_command_boot_arg(&cmd->boot_arg, argv);
		/* The init's word for "the console is the command's terminal"
		 * (guest/init.c). */
		char *with_tty = NULL;
		if (!rc && opts && opts->version >= 2 && opts->console_terminal) {
			if (asprintf(&with_tty, "%s " SV_GUEST_CONSOLE_TTY, cmd->boot_arg) < 0)
				rc = sv_err(SV_ENOMEM, "out of memory");
			else {
				free(cmd->boot_arg);
				cmd->boot_arg = with_tty;
			}
		}
		if (!rc)
			rc = sv_command_console_new(&cmd->reader);
		cmd->argv = json_array();
		for (size_t i = 0; !rc && argv[i]; i++)
			if (!cmd->argv || json_array_append_new(cmd->argv, json_string(argv[i])) != 0)
				rc = sv_err(SV_ENOMEM, "out of memory");
		if (rc) {
			sv_vm__command_free(cmd);
			return rc;
		}
	}
	sv_vm__command_free(vm->command);
	vm->command = cmd;
	return 0;
}

int sv_vm_set_command(sv_vm *vm, const char *const *argv)
{
	return sv_vm_set_command_options(vm, argv, NULL);
}

/* args without any smartvm.cmd= or smartvm.console=tty word, plus " " plus
 * arg. malloc'd. */
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
		bool tty_word = (size_t)(end - p) == strlen(SV_GUEST_CONSOLE_TTY) &&
				!strncmp(p, SV_GUEST_CONSOLE_TTY, (size_t)(end - p));
		if (end > p && strncmp(p, "smartvm.cmd=", key_len) != 0 && !tty_word) {
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
	cmd->deadline_ms = cmd->timeout_ms > 0 ? sv_now_ms() + cmd->timeout_ms : 0;
	return 0;
}

json_t *sv_vm__command_argv(const sv_vm *vm) { return vm->command ? vm->command->argv : NULL; }

long long sv_vm__command_deadline(const sv_vm *vm) { return vm->command ? vm->command->deadline_ms : 0; }

int sv_vm__command_console_pipe(sv_vm *vm, int *write_fd)
{
	*write_fd = -1;
	struct sv_vm_command *cmd = vm->command;
	if (!cmd)
		return 0;
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return sv_err_errno(SV_EIO, errno, "creating the console pipe of VM \"%s\"", vm->id);
	/* Larger than the default 64 KiB where allowed: fewer stalls of the
	 * guest's console between two reads. */
	fcntl(p[0], F_SETPIPE_SZ, CONSOLE_PIPE_BYTES);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	if (cmd->console_fd >= 0)
		close(cmd->console_fd);
	cmd->console_fd = p[0];
	cmd->console_eof = false;
	*write_fd = p[1];
	return 0;
}

/* Reads what the console pipe holds into the reader, never blocking; its
 * output is appended to cmd->fresh. */
static int pump(sv_vm *vm)
{
	struct sv_vm_command *cmd = vm->command;
	char chunk[65536];
	while (!cmd->console_eof) {
		ssize_t n = read(cmd->console_fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return sv_err_errno(SV_EIO, errno, "reading the console of VM \"%s\"", vm->id);
		if (n == 0) {
			cmd->console_eof = true;
			break;
		}
		const char *out = NULL;
		size_t out_len = 0;
		int rc = sv_command_console_feed(cmd->reader, chunk, (size_t)n, &out, &out_len);
		if (rc || (out_len && (rc = sv_buf_append(&cmd->fresh, out, out_len))))
			return rc;
	}
	if (!sv_command_console_exited(cmd->reader, NULL))
		cmd->exited_at_ms = 0;
	else if (!cmd->exited_at_ms)
		cmd->exited_at_ms = sv_now_ms();
	return 0;
}

static void fail(struct sv_vm_command *cmd, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(struct sv_vm_command *cmd, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&cmd->message, fmt, ap) < 0)
		cmd->message = NULL;
	va_end(ap);
	cmd->done = true;
	cmd->rc = rc;
}

/* "3 s", "1500 ms": how a timeout reads in a message. */
static const char *duration_text(int ms, char *buf, size_t size)
{
	if (ms % 1000 == 0)
		snprintf(buf, size, "%d s", ms / 1000);
	else
		snprintf(buf, size, "%d ms", ms);
	return buf;
}

/* The VM has ended: reads the rest of its console and decides the result. */
static int settle(sv_vm *vm)
{
	struct sv_vm_command *cmd = vm->command;
	long long until = sv_now_ms() + DRAIN_MS;
	for (;;) {
		int rc = pump(vm);
		if (rc)
			return rc;
		long long left = until - sv_now_ms();
		if (cmd->console_eof || left <= 0)
			break;
		struct pollfd p = {.fd = cmd->console_fd, .events = POLLIN};
		poll(&p, 1, (int)left);
	}
	const char *out = NULL;
	size_t out_len = 0;
	int rc = sv_command_console_end(cmd->reader, &out, &out_len);
	if (rc || (out_len && (rc = sv_buf_append(&cmd->fresh, out, out_len))))
		return rc;
	const char *why = vm->end_reason && *vm->end_reason ? vm->end_reason : sv_vm_state_name(vm->state);
	char text[32];
	if (cmd->gave_up)
		fail(cmd, SV_EPROCESS,
		     "VM \"%s\": its command printed an exit line but the VM did not power off within %s; "
		     "the VM was killed",
		     vm->id, duration_text(SV_COMMAND_POWEROFF_GRACE_MS, text, sizeof(text)));
	else if (vm->state == SV_VM_ERROR && cmd->deadline_ms && sv_now_ms() >= cmd->deadline_ms)
		fail(cmd, SV_ETIMEOUT,
		     "VM \"%s\": its command did not finish within %s (timeout); the VM was killed", vm->id,
		     duration_text(cmd->timeout_ms, text, sizeof(text)));
	else if (!sv_command_console_finished(cmd->reader, NULL))
		fail(cmd, SV_EPROCESS, "VM \"%s\" ended before its command finished: %s", vm->id, why);
	else if (vm->state == SV_VM_ERROR)
		fail(cmd, SV_EPROCESS, "VM \"%s\" ended in error after its command's exit line: %s", vm->id,
		     why);
	else
		cmd->done = true;
	return 0;
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

static int result(const struct sv_vm_command *cmd)
{
	return cmd->rc ? sv_err(cmd->rc, "%s", cmd->message ? cmd->message : "out of memory") : 0;
}

/* One step: reads, notices the end (or a guest that will not power off),
 * and sleeps at most until the next thing that could change that. */
static int step(sv_vm *vm, long long until)
{
	struct sv_vm_command *cmd = vm->command;
	for (;;) {
		int rc = pump(vm);
		if (rc)
			return rc;
		sv_vm_state state = sv_vm_get_state(vm);
		if (state != SV_VM_CONFIGURING && state != SV_VM_RUNNING && state != SV_VM_PAUSED)
			return settle(vm);
		long long now = sv_now_ms();
		if (cmd->exited_at_ms && state == SV_VM_RUNNING &&
		    now - cmd->exited_at_ms >= SV_COMMAND_POWEROFF_GRACE_MS) {
			cmd->gave_up = true;
			if (sv_vm_kill(vm) != 0)
				return sv_err_prefix(
				    "VM \"%s\": its command printed an exit line but it did not power off",
				    vm->id);
			return settle(vm);
		}
		if (cmd->fresh.len && !cmd->fresh_since_ms)
			cmd->fresh_since_ms = now;
		bool coalesced = cmd->fresh.len >= COALESCE_ENOUGH || cmd->console_eof ||
				 (cmd->fresh_since_ms && now - cmd->fresh_since_ms >= COALESCE_MS);
		if ((cmd->fresh.len && coalesced) || (until >= 0 && now >= until)) {
			cmd->fresh_since_ms = 0;
			return 0;
		}
		long long wait = until < 0 ? POLL_MAX_MS : until - now;
		if (cmd->fresh_since_ms && cmd->fresh_since_ms + COALESCE_MS - now < wait)
			wait = cmd->fresh_since_ms + COALESCE_MS - now;
		if (wait > POLL_MAX_MS)
			wait = POLL_MAX_MS;
		if (cmd->exited_at_ms && cmd->exited_at_ms + SV_COMMAND_POWEROFF_GRACE_MS - now < wait)
			wait = cmd->exited_at_ms + SV_COMMAND_POWEROFF_GRACE_MS - now;
		struct pollfd p[2] = {{.fd = cmd->console_eof ? -1 : cmd->console_fd, .events = POLLIN},
				      {.fd = vm->status_fd, .events = POLLIN}};
		poll(p, 2, wait > 0 ? (int)wait : 0);
	}
}

int sv_vm_command_read(sv_vm *vm, int wait_ms, const char **output, size_t *output_len)
{
	sv_err_clear();
	*output = "";
	*output_len = 0;
	int rc = require_command(vm);
	if (rc)
		return rc;
	struct sv_vm_command *cmd = vm->command;
	cmd->fresh.len = 0;
	if (!cmd->done && (rc = step(vm, wait_ms < 0 ? -1 : sv_now_ms() + wait_ms)))
		return sv_err_prefix("VM \"%s\"", vm->id);
	/* The last output first; an error comes with the next call. */
	if (cmd->fresh.len) {
		*output = cmd->fresh.data;
		*output_len = cmd->fresh.len;
		return 0;
	}
	return cmd->done ? result(cmd) : 0;
}

int sv_vm_command_output(sv_vm *vm, const char **output, size_t *output_len)
{
	return sv_vm_command_read(vm, 0, output, output_len);
}

bool sv_vm_command_finished(const sv_vm *vm, int *status)
{
	const struct sv_vm_command *cmd = vm->command;
	return cmd && cmd->done && cmd->rc == 0 && sv_command_console_finished(cmd->reader, status);
}

int sv_vm_wait_command(sv_vm *vm, int timeout_ms, char **output, size_t *output_len, int *status)
{
	if (output)
		*output = NULL;
	if (output_len)
		*output_len = 0;
	long long until = timeout_ms < 0 ? -1 : sv_now_ms() + timeout_ms;
	sv_buf all = {0};
	int rc = 0;
	for (;;) {
		long long left = until < 0 ? -1 : until - sv_now_ms();
		const char *chunk = NULL;
		size_t len = 0;
		rc = sv_vm_command_read(vm, left < 0 ? -1 : left > 0 ? (int)left : 0, &chunk, &len);
		if (rc == 0 && len)
			rc = sv_buf_append(&all, chunk, len);
		if (rc || sv_vm_command_finished(vm, status))
			break;
		if (until >= 0 && sv_now_ms() >= until && !vm->command->done) {
			rc = sv_err(SV_ETIMEOUT, "VM \"%s\": its command did not finish within %d ms", vm->id,
				    timeout_ms);
			break;
		}
	}
	if (rc == 0 && (rc = sv_buf_append(&all, "", 0)) == 0) {
		if (output_len)
			*output_len = all.len;
		if (output) {
			*output = all.data;
			all = (sv_buf){0};
		}
	}
	sv_buf_free(&all);
	return rc;
}
