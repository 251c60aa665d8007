/* `smartvm run --vmm/--accel` and `smartvm run ... -- CMD ARGS` (see
 * cmd_run_cmd.h). The foreground prints nothing but the guest command's
 * output, byte for byte, so `smartvm run --image minimal -- echo hi` prints
 * "hi\n" and can sit in a pipeline; every message of smartvm's own goes to
 * stderr. */
#include "cmd_run_cmd.h"

#include <jansson.h>
#include <smartvm/command.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long each sv_vm_wait blocks: the latency of output and of Ctrl-C. */
#define COMMAND_WAIT_MS 50

int cli_run_vmm_option(cli_ctx *cli, int c, const char *arg)
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
	default:
		return -1;
	}
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

/* Writes what the command printed since the last call. A closed stdout must
 * not stop the VM, so write errors are ignored. */
static void print_output(sv_vm *vm)
{
	const char *out = NULL;
	size_t len = 0;
	if (sv_vm_command_output(vm, &out, &len) == 0 && len) {
		fwrite(out, 1, len, stdout);
		fflush(stdout);
	}
}

int cli_run_command_foreground(sv_vm *vm)
{
	int rc;
	for (;;) {
		print_output(vm);
		if (cli_stop_requested()) {
			rc = sv_vm_stop(vm, -1);
			break;
		}
		rc = sv_vm_wait(vm, COMMAND_WAIT_MS);
		if (rc != SV_ETIMEOUT)
			break;
	}
	print_output(vm);
	int status = 0;
	if (sv_vm_command_finished(vm, &status))
		return status;
	if (rc < 0)
		return cli_fail(rc);
	/* Why it ended (with the console's last lines) is in its description. */
	char *text = NULL;
	json_t *desc = sv_vm_describe(vm, &text) == 0 ? json_loads(text, 0, NULL) : NULL;
	const char *why = json_string_value(json_object_get(desc, "end_reason"));
	int code =
	    cli_error(CLI_EXIT_FAILURE, "VM \"%s\" ended (%s) before its command finished%s%s", sv_vm_id(vm),
		      sv_vm_state_name(sv_vm_get_state(vm)), why && *why ? ": " : "", why && *why ? why : "");
	json_decref(desc);
	free(text);
	return code;
}
