/* `smartvm run --vmm/--accel` and `smartvm run ... -- CMD ARGS` (see
 * cmd_run_cmd.h). The foreground prints nothing but the guest command's
 * output, byte for byte, so `smartvm run --image minimal -- echo hi` prints
 * "hi\n" and can sit in a pipeline; every message of smartvm's own goes to
 * stderr. */
#include "cmd_run_cmd.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <smartvm/command.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long each read of the command's output waits: the latency of Ctrl-C. */
#define COMMAND_WAIT_MS 50

/* timeout(1)'s DURATION: a non-negative number with an optional unit s, m,
 * h or d. Returns 0 or CLI_EXIT_USAGE (message printed). */
static int parse_duration(cli_ctx *cli, const char *flag, const char *text, int *out_ms)
{
	char *end = NULL;
	errno = 0;
	double v = (text[0] >= '0' && text[0] <= '9') || text[0] == '.' ? strtod(text, &end) : -1;
	double unit = 1000;
	if (end && *end && !end[1])
		unit = *end == 's'   ? 1000
		       : *end == 'm' ? 60e3
		       : *end == 'h' ? 3600e3
		       : *end == 'd' ? 86400e3
				     : 0;
	if (!end || (*end && (end[1] || unit == 0)) || errno != 0 || !isfinite(v) || v < 0 ||
	    v * unit > INT_MAX)
		return cli_usage_error(cli,
				       "%s: \"%s\" is not a duration (a number with an optional unit s, m, h "
				       "or d, at most 24d)",
				       flag, text);
	*out_ms = (int)(v * unit + 0.5);
	if (*out_ms == 0 && v > 0)
		*out_ms = 1;
	return 0;
}

int cli_run_vmm_option(cli_ctx *cli, cli_run_cmd *cmd, int c, const char *arg)
{
	static const char *const vmms[] = {"auto", "firecracker", "qemu"};
	switch (c) {
	case CLI_OPT_RUN_VMM:
		for (size_t i = 0; i < 3; i++)
			if (!strcmp(arg, vmms[i])) {
				cli->opts.vmm = i == 1	 ? SV_VMM_FIRECRACKER
						: i == 2 ? SV_VMM_QEMU
							 : SV_VMM_AUTO;
				return 0;
			}
		return cli_usage_error(cli, "--vmm: \"%s\" is not one of firecracker, qemu, auto", arg);
	case CLI_OPT_RUN_ACCEL:
		if (strcmp(arg, "kvm") && strcmp(arg, "tcg") && strcmp(arg, "auto"))
			return cli_usage_error(cli, "--accel: \"%s\" is not one of kvm, tcg, auto", arg);
		cli->opts.qemu_accel = arg;
		return 0;
	case CLI_OPT_RUN_TIMEOUT:
		return parse_duration(cli, "--timeout", arg, &cmd->timeout_ms);
	default:
		return -1;
	}
}

int cli_run_command_check(cli_ctx *cli, const cli_run_cmd *cmd, bool detach)
{
	if (cmd->timeout_ms && !cmd->argv)
		return cli_usage_error(cli, "--timeout needs a command to run (-- CMD)");
	if (cmd->timeout_ms && detach)
		return cli_usage_error(cli, "--timeout works in the foreground only, not with --detach");
	return 0;
}

int cli_run_set_command(sv_vm *vm, const cli_run_cmd *cmd, bool detach)
{
	if (!cmd->argv)
		return 0;
	sv_command_options o = SV_COMMAND_OPTIONS_INIT;
	o.timeout_ms = cmd->timeout_ms;
	/* Nobody reads a detached command's output: give it the console as its
	 * terminal instead, for `smartvm attach` (run -d -- sh). */
	o.console_terminal = detach;
	int rc = sv_vm_set_command_options(vm, (const char *const *)cmd->argv, &o);
	return rc < 0 ? cli_fail(rc) : 0;
}

int cli_run_split_command(cli_ctx *cli, int *argc, char **argv, char ***cmd)
{
	*cmd = NULL;
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--") != 0)
			continue;
		if (i + 1 >= *argc)
			return cli_usage_error(cli,
					       "\"--\" must be followed by a command to run in the guest");
		/* argv[*argc] is NULL (main's argv), so the words after "--" are a
		 * NULL-terminated vector already. */
		*cmd = argv + i + 1;
		*argc = i;
		return 0;
	}
	return 0;
}

/* Writes the command's output. A closed stdout must not stop the VM, so
 * write errors are ignored. */
static void print_output(const char *out, size_t len)
{
	if (len) {
		fwrite(out, 1, len, stdout);
		fflush(stdout);
	}
}

int cli_run_command_foreground(sv_vm *vm)
{
	int rc;
	bool stopping = false;
	for (;;) {
		const char *out = NULL;
		size_t len = 0;
		rc = sv_vm_command_read(vm, COMMAND_WAIT_MS, &out, &len);
		print_output(out, len);
		if (rc < 0 || sv_vm_command_finished(vm, NULL))
			break;
		if (cli_stop_requested() && !stopping) {
			stopping = true;
			/* The guest's init ends the command and powers off: its status
			 * (143 for SIGTERM) is still the command's. */
			if ((rc = sv_vm_stop(vm, -1)) < 0)
				break;
		}
	}
	int status = 0;
	/* Stopped by a signal to us: the shell's code for it (130 for Ctrl-C),
	 * not the SIGTERM the guest's init ended the command with. */
	if (stopping && rc >= 0)
		return cli_stop_exit_code();
	if (sv_vm_command_finished(vm, &status))
		return status;
	/* The message says why, quoting the VMM's and the console's last lines
	 * (escaped by the library). */
	int code = cli_fail(rc);
	return rc == SV_ETIMEOUT ? CLI_EXIT_TIMEOUT : code;
}
