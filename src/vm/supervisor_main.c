/* smartvm-supervisor: the per-VM supervisor (see src/vm/supervisor.c), or,
 * with --fork-server FD, the manager's fork server that forks one per VM
 * (src/vm/supervisor_server.c). The program, not the library, owns its
 * stderr (a supervisor's is its VM's vmm.log, where vm_launch.c points it;
 * the fork server's is /dev/null): the library's warnings go there through a
 * log callback, at the level SMARTVM_LOG names (default warning). */
#include "vm/supervisor.h"
#include "vm/supervisor_server.h"

#include "util/crypto_lib.h"
#include "util/trace.h"

#include <smartvm/log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void to_stderr(sv_log_severity severity, const char *message, void *userdata)
{
	(void)userdata;
	fprintf(stderr, "smartvm-supervisor: %s: %s\n", sv_log_severity_name(severity), message);
}

static void set_log_level(void)
{
	sv_log_severity level = SV_LOG_WARN;
	const char *env = getenv("SMARTVM_LOG");
	if (env && *env && sv_log_severity_parse(&level, env) != 0)
		level = SV_LOG_WARN;
	sv_set_log_callback(to_stderr, NULL, level);
}

/* The fork server's command line, which its forks inherit: rewritten in
 * place before and after each fork so that `ps` (and whoever looks for a
 * VM's supervisor by its directory) tells them apart. The manager passes a blank argument long
 * enough for any VM directory (SV_FORK_SERVER_TITLE_ROOM). */
static char *title_start;
static size_t title_room;

static char *program, server_fd[16];

static void set_title(const char *vm_dir)
{
	const char *b = vm_dir ? "--forked-for" : SV_FORK_SERVER_ARG, *c = vm_dir ? vm_dir : server_fd;
	size_t la = strlen(program) + 1, lb = strlen(b) + 1, lc = strlen(c) + 1;
	memset(title_start, 0, title_room);
	if (la + lb + lc > title_room)
		return;
	memcpy(title_start, program, la);
	memcpy(title_start + la, b, lb);
	memcpy(title_start + la + lb, c, lc);
}

/* libcrypto is linked into this program statically (meson.build): the
 * library uses it instead of loading the shared one. */
static const sv_crypto_api linked_crypto = SV_LAZY_LINKED(SV_CRYPTO_FUNCTIONS, sv_crypto_api);

int main(int argc, char **argv)
{
	sv_crypto_use_linked(&linked_crypto);
	if (argc == 4 && !strcmp(argv[1], SV_FORK_SERVER_ARG)) {
		/* argv's strings lie end to end: one area to rewrite. */
		title_start = argv[0];
		title_room = (size_t)(argv[3] + strlen(argv[3]) + 1 - argv[0]);
		program = strdup(argv[0]);
		if (!program)
			return 1;
		char *end;
		long fd = strtol(argv[2], &end, 10);
		if (*end || fd < 0 || fd > 1 << 20) {
			fputs("smartvm-supervisor: " SV_FORK_SERVER_ARG ": not an fd\n", stderr);
			return SV_SUPERVISOR_USAGE;
		}
		snprintf(server_fd, sizeof(server_fd), "%ld", fd);
		set_title(NULL);
		set_log_level();
		const sv_fork_server_hooks hooks = {.set_title = set_title, .child_init = set_log_level};
		return sv_supervisor_server_main((int)fd, &hooks);
	}
	sv_trace_process_start("supervisor:exec+dynamic_loading");
	set_log_level();
	int rc = sv_supervisor_main(argc, argv);
	if (rc == SV_SUPERVISOR_USAGE)
		fputs("usage: smartvm-supervisor --status-fd N --control-fd N --lock-fd N [--console-fd N] "
		      "VM_DIR\n"
		      "       smartvm-supervisor " SV_FORK_SERVER_ARG " FD PADDING\n"
		      "(started by libsmartvm: the first for a VM, the second once per manager, forking "
		      "the first's work for every VM; not for direct use)\n",
		      stderr);
	return rc;
}
