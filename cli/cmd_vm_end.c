/* The commands about VMs that end: wait (block until each ends, print its
 * exit status) and rm (remove what is left of ended VMs; -f kills live ones
 * first). The Docker habits: `docker wait`, `docker rm [-f]`.
 *
 * A VM that was started detached keeps an end record after it ends (exit
 * status, end time, command: "ended" in `inspect --json`) until rm; that is
 * what wait prints for a VM that has already ended. */
#include "cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The VM's description parsed (NULL after printing why). */
static json_t *describe_vm(sv_vm *vm)
{
	char *text = NULL;
	int rc = sv_vm_describe(vm, &text);
	json_t *desc = rc < 0 ? NULL : json_loads(text, 0, NULL);
	free(text);
	if (!desc)
		rc < 0 ? cli_fail(rc)
		       : cli_error(CLI_EXIT_FAILURE, "VM \"%s\": unreadable description", sv_vm_id(vm));
	return desc;
}

/* ---- wait ---- */

/* Waits for one VM; its exit status in *status, or an exit code (message
 * printed) when it cannot be told. */
static int wait_one(cli_ctx *cli, const char *id, json_int_t *status)
{
	sv_vm *vm = NULL;
	int rc = cli_attach(cli, id, &vm);
	if (rc)
		return rc;
	if ((rc = sv_vm_wait(vm, -1)) < 0) {
		rc = cli_fail(rc);
		sv_vm_free(vm);
		return rc;
	}
	json_t *desc = describe_vm(vm);
	sv_vm_free(vm);
	if (!desc)
		return CLI_EXIT_FAILURE;
	json_t *ended = json_object_get(desc, "ended");
	json_t *code = json_object_get(ended, "exit_code");
	const char *why = json_string_value(json_object_get(desc, "end_reason"));
	if (json_is_integer(code)) {
		*status = json_integer_value(code);
		rc = CLI_EXIT_OK;
	} else if (ended || !strcmp(json_string_value(json_object_get(desc, "state")) ?: "", "error")) {
		rc = cli_error(CLI_EXIT_FAILURE, "VM \"%s\" ended (unknown status)%s%s", id, why ? ": " : "",
			       why ? why : "");
	} else {
		rc = cli_error(CLI_EXIT_FAILURE,
			       "VM \"%s\" has ended, but its exit status was not kept (only VMs started "
			       "detached keep an end record)%s%s",
			       id, why && *why ? ": " : "", why && *why ? why : "");
	}
	json_decref(desc);
	return rc;
}

static int cmd_wait(cli_ctx *cli, int argc, char **argv)
{
	cli_opts p;
	int c, code = CLI_EXIT_OK;
	cli_opts_begin(&p, cli, argc, argv, NULL, NULL);
	while ((c = cli_opts_next(&p)) > 0)
		;
	if (c == CLI_OPTS_EXIT)
		return p.exit_code;
	int rc = cli_some_args(&p, "VM id (ID)");
	if (rc)
		return rc;
	json_t *all = cli->json ? json_array() : NULL;
	for (int i = p.optind; i < p.argc; i++) {
		json_int_t status = 0;
		if ((rc = wait_one(cli, p.argv[i], &status))) {
			code = rc;
			continue;
		}
		if (all)
			json_array_append_new(all,
					      json_pack("{s:s, s:I}", "id", p.argv[i], "exit_code", status));
		else
			printf("%lld\n", (long long)status);
		fflush(stdout); /* one line as each VM ends */
	}
	if (all) {
		json_dumpf(all, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(all);
	}
	return code;
}

/* ---- rm ---- */

static int cmd_rm(cli_ctx *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"force", no_argument, NULL, 'f'},
	    {0},
	};
	cli_opts p;
	unsigned flags = 0;
	int c, code = CLI_EXIT_OK;
	cli_opts_begin(&p, cli, argc, argv, "f", longopts);
	while ((c = cli_opts_next(&p)) > 0)
		if (c == 'f')
			flags |= SV_VM_REMOVE_FORCE;
	if (c == CLI_OPTS_EXIT)
		return p.exit_code;
	int rc = cli_some_args(&p, "VM id (ID)");
	if (rc)
		return rc;
	char **removed = calloc((size_t)(p.argc - p.optind), sizeof(*removed));
	if (!removed)
		return cli_error(CLI_EXIT_FAILURE, "out of memory");
	size_t n = 0;
	for (int i = p.optind; i < p.argc; i++) {
		sv_vm *vm = NULL;
		if ((rc = cli_attach(cli, p.argv[i], &vm))) {
			code = rc;
			continue;
		}
		if ((rc = sv_vm_remove(vm, flags)) < 0)
			code = cli_fail(rc);
		else
			removed[n++] = p.argv[i];
		sv_vm_free(vm);
	}
	cli_print_ids(cli, removed, n);
	free(removed);
	return code;
}

const cli_command cli_vm_end_commands[] = {
    {
	.name = "wait",
	.summary = "Wait until VMs end; print their exit status",
	.usage = "ID... [--json]",
	.help = "Blocks until each VM has ended (whichever process started it), then\n"
		"prints its exit status, one line per VM, in the order given: for a VM\n"
		"started with `run --detach -- CMD`, CMD's exit status (128+N after\n"
		"signal N); for one without a command, the VMM's (0 after a clean\n"
		"shutdown, 128+N when signal N ended it). Works on a VM that has\n"
		"already ended, from its end record (kept until 'smartvm rm').\n"
		"\n"
		"Options:\n"
		"  --json  print [{\"id\": ID, \"exit_code\": N}, ...] instead\n"
		"\n"
		"Exits 0 once every VM was waited for (whatever their status), 1 if\n"
		"there is no VM with an id or its status cannot be told: it ended\n"
		"without an end record (it was not detached), or its supervisor was\n"
		"killed before recording it (\"ended (unknown status)\").\n",
	.handler = cmd_wait,
    },
    {
	.name = "rm",
	.summary = "Remove ended VMs (-f: kill running ones first)",
	.usage = "ID... [-f] [--json]",
	.help = "Removes what is left of each VM: the end record of a VM that ended\n"
		"detached ('smartvm ps -a' lists them), and anything a dead VM left\n"
		"behind (as 'smartvm gc' does). A VM that is still live (running,\n"
		"paused, configuring, or in error with its supervisor alive) is refused\n"
		"with an error naming it, unless -f is given. Prints the id of each VM\n"
		"removed, one per line.\n"
		"\n"
		"Options:\n"
		"  -f, --force  kill a live VM first (as 'smartvm kill'), also one stuck\n"
		"               in configuring or error, then remove it\n"
		"  --json       print the removed ids as a JSON array instead\n"
		"\n"
		"Exits 1 if any VM could not be removed (the others still are).\n",
	.handler = cmd_rm,
    },
    {0},
};
