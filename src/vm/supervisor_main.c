/* smartvm-supervisor VM_DIR: the per-VM supervisor (see src/vm/supervisor.c).
 * The program, not the library, owns its stderr (the VM's console log, where
 * vm_launch.c points it): the library's warnings go there through a log
 * callback, at the level SMARTVM_LOG names (default warning). */
#include "vm/supervisor.h"

#include "util/trace.h"

#include <smartvm/log.h>
#include <stdio.h>
#include <stdlib.h>

static void to_stderr(sv_log_severity severity, const char *message, void *userdata)
{
	(void)userdata;
	fprintf(stderr, "smartvm-supervisor: %s: %s\n", sv_log_severity_name(severity), message);
}

int main(int argc, char **argv)
{
	sv_trace_process_start("supervisor:exec+dynamic_loading");
	sv_log_severity level = SV_LOG_WARN;
	const char *env = getenv("SMARTVM_LOG");
	if (env && *env && sv_log_severity_parse(&level, env) != 0)
		level = SV_LOG_WARN;
	sv_set_log_callback(to_stderr, NULL, level);
	int rc = sv_supervisor_main(argc, argv);
	if (rc == SV_SUPERVISOR_USAGE)
		fputs("usage: smartvm-supervisor --status-fd N --control-fd N --lock-fd N [--console-fd N] "
		      "VM_DIR\n"
		      "(started by libsmartvm for every VM; not for direct use)\n",
		      stderr);
	return rc;
}
