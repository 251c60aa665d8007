/* `smartvm logs`: the VM's console output (<vm dir>/console.log).
 *
 * Reads through one fd opened at the start, so a follower keeps everything the
 * guest wrote even when the VM's cleanup removes the file. Never writes to the
 * VM directory and never changes the VM: a VM that ends while we follow is
 * cleaned up by its own supervisor, and we just notice its directory is gone.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How often a follower looks for new output and for the VM's end. */
#define FOLLOW_POLL_MS 100

static bool path_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Every this many polls, also ask the library: a VM whose supervisor was
 * killed keeps its directory until gc, but its state says it has ended. */
#define FOLLOW_STATE_EVERY 10

static bool vm_ended(sv_vm *vm)
{
	sv_vm_state s = sv_vm_get_state(vm);
	return s == SV_VM_STOPPED || s == SV_VM_ERROR;
}

static int follow(int fd, sv_vm *vm)
{
	const char *dir = sv_vm_dir(vm);

	cli_catch_stop_signals();
	for (unsigned round = 1;; round++) {
		/* Check for the end before draining, so the last drain sees
		 * everything written before the VM went away. */
		bool gone = !path_exists(dir) || (round % FOLLOW_STATE_EVERY == 0 && vm_ended(vm));
		if (cli_copy_to_stdout(fd) < 0)
			return CLI_EXIT_OK; /* the reader went away (logs -f | head) */
		if (gone || cli_stop_requested())
			return CLI_EXIT_OK;
		poll(NULL, 0, FOLLOW_POLL_MS);
	}
}

static int cmd_logs(cli_ctx *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"follow", no_argument, NULL, 'f'},
	    {0},
	};
	cli_opts p;
	const char *id = NULL;
	sv_vm *vm = NULL;
	bool follow_output = false;
	int c, rc;

	cli_opts_begin(&p, cli, argc, argv, "f", longopts);
	while ((c = cli_opts_next(&p)) > 0)
		if (c == 'f')
			follow_output = true;
	if (c == CLI_OPTS_EXIT)
		return p.exit_code;
	if ((rc = cli_one_arg(&p, "VM id (ID)", &id)) || (rc = cli_attach(cli, id, &vm)))
		return rc;

	const char *path = sv_vm_console_path(vm);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cli_error(CLI_EXIT_FAILURE, "VM \"%s\": opening console log %s: %s", id, path,
				 strerror(errno));
	if (follow_output) {
		rc = follow(fd, vm);
	} else {
		rc = cli_copy_to_stdout(fd) < 0
			 ? cli_error(CLI_EXIT_FAILURE, "writing to stdout: %s", strerror(errno))
			 : CLI_EXIT_OK;
	}
	close(fd);
	return rc;
}

const cli_command cli_logs_commands[] = {
    {
	.name = "logs",
	.summary = "Print a VM's console output",
	.usage = "ID [-f]",
	.help = "Prints the VM's console log (the guest's serial console, kept in\n"
		"<runtime dir>/<ID>/console.log).\n"
		"\n"
		"Options:\n"
		"  -f, --follow  keep printing new output as it arrives, until the VM is\n"
		"                gone (its runtime directory removed) or SIGINT/SIGTERM;\n"
		"                exits 0 either way\n"
		"\n"
		"Exits 1 if there is no VM with that id or it has no console log.\n",
	.handler = cmd_logs,
    },
    {0},
};
