/* `ps [--format table|json] ID`: the host pids that stand for the
 * container's processes: the container process (create's, running
 * process.args) and one exec relay per process exec runs (oci_execs.h).
 * The guest's own processes have no host pids; these are the pids a
 * signal reaches them through. json: a JSON array of the pids, as runc
 * prints; table: PID, what it stands for and the guest command. A
 * stopped container has none. */
#include "oci_commands.h"

#include "oci_bundle.h"
#include "oci_execs.h"
#include "oci_log.h"

#include <getopt.h>
#include <jansson.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USAGE "ps [--format table|json] ID"

/* args[0] of the container's process, from its bundle ("?" if it cannot be read). */
static char *container_command(const oci_state *s)
{
	oci_bundle b;
	if (oci_bundle_load(&b, s->bundle) < 0)
		return strdup("?");
	char *cmd = strdup(b.args[0]);
	oci_bundle_free(&b);
	return cmd;
}

static int print(const oci_state *s, const oci_exec_record *r, size_t n, bool json)
{
	bool live = oci_status_live(s->status) && s->status != OCI_CREATING;
	if (json) {
		json_t *a = json_array();
		if (live)
			json_array_append_new(a, json_integer(s->pid));
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, json_integer(r[i].pid));
		char *text = json_dumps(a, JSON_COMPACT);
		json_decref(a);
		if (!text)
			return oci_log_error("out of memory");
		printf("%s\n", text);
		free(text);
		return 0;
	}
	printf("%-8s %-10s %s\n", "PID", "STANDS FOR", "COMMAND");
	if (live) {
		char *cmd = container_command(s);
		printf("%-8d %-10s %s\n", (int)s->pid, "container", cmd ? cmd : "?");
		free(cmd);
	}
	for (size_t i = 0; i < n; i++)
		printf("%-8d %-10s %s\n", (int)r[i].pid, "exec", r[i].command);
	return 0;
}

int oci_cmd_ps(const oci_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'}, {0}};
	const char *format = "table";
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+f:", opts, NULL)) != -1) {
		if (c != 'f')
			return oci_log_error("ps: unknown option %s\nusage: smartvm-oci " USAGE, argv[optind - 1]);
		format = optarg;
	}
	if (strcmp(format, "table") && strcmp(format, "json"))
		return oci_log_error("ps --format: \"%s\" is not one of table, json", format);
	/* runc passes what follows the id to ps(1); there is no host ps of the guest. */
	if (argc - optind != 1)
		return oci_log_error("usage: smartvm-oci " USAGE);
	oci_dir d;
	oci_state s;
	int code = oci_container_open(g, argv[optind], &d, &s);
	if (code)
		return code;
	oci_exec_record *r = NULL;
	size_t n = 0;
	if (oci_execs_list(&d, &r, &n) < 0)
		code = oci_log_error("container \"%s\": %s", s.id, sv_last_error());
	else
		code = print(&s, r, n, !strcmp(format, "json"));
	oci_execs_free(r, n);
	oci_state_free(&s);
	oci_dir_close(&d);
	return code;
}
