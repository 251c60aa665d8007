/* The commands that look at or act on existing VMs by id: ps, inspect, pause,
 * resume, stop, kill, gc.
 *
 * Each one attaches to the VM through the library (any process may have
 * started it) and calls one library function; what it prints comes from
 * sv_vm_describe, so `ps --json`, `inspect --json` and `run --detach --json`
 * print the same object. Attaching never changes a VM; freeing the manager
 * afterwards leaves attached VMs running.
 */
#include "cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The command's options are parsed; returns -1 to go on, else the exit code. */
static int parse_id_only(cli_opts *p, cli_ctx *cli, int argc, char **argv, const char **id)
{
	int c;
	cli_opts_begin(p, cli, argc, argv, NULL, NULL);
	while ((c = cli_opts_next(p)) > 0)
		;
	if (c == CLI_OPTS_EXIT)
		return p->exit_code;
	int rc = cli_one_arg(p, "VM id (ID)", id);
	return rc ? rc : -1;
}

/* sv_vm_describe parsed; NULL after printing the error. */
static json_t *describe(sv_vm *vm)
{
	char *text = NULL;
	int rc = sv_vm_describe(vm, &text);
	if (rc < 0) {
		cli_fail(rc);
		return NULL;
	}
	json_error_t jerr;
	json_t *obj = json_loads(text, 0, &jerr);
	if (!obj)
		cli_error(CLI_EXIT_FAILURE, "VM \"%s\": the library returned malformed JSON: %s",
			  sv_vm_id(vm), jerr.text);
	free(text);
	return obj;
}

/* ---- ps ---- */

static const char *str_or_dash(json_t *v)
{
	return json_is_string(v) && *json_string_value(v) ? json_string_value(v) : "-";
}

/* The guest IPs of all interfaces, comma-separated, or "-". */
static void format_ips(json_t *desc, char *buf, size_t len)
{
	json_t *net = json_object_get(desc, "network"), *iface;
	size_t i, used = 0;

	buf[0] = '\0';
	json_array_foreach(net, i, iface)
	{
		const char *ip = json_string_value(json_object_get(iface, "guest_ip"));
		if (!ip || !*ip)
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", ip);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	if (!used)
		snprintf(buf, len, "-");
}

/* The ID column is at least this wide, and wider for longer ids (up to 64). */
#define PS_ID_WIDTH 24
/* The IP column, when more columns follow it (ps -a). */
#define PS_IP_WIDTH 15

/* An ended VM's EXIT column: its exit code, with the signal that ended
 * the VMM, or "unknown" when its supervisor died before recording it. */
static void format_exit(json_t *ended, char *buf, size_t len)
{
	json_t *code = json_object_get(ended, "exit_code");
	const char *sig = json_string_value(json_object_get(ended, "signal"));
	if (!ended)
		snprintf(buf, len, "-");
	else if (!json_is_integer(code))
		snprintf(buf, len, "unknown");
	else
		snprintf(buf, len, "%lld%s%s%s", (long long)json_integer_value(code), sig ? " (" : "",
			 sig ? sig : "", sig ? ")" : "");
}

static void print_ps_row(json_t *desc, int id_width, int ip_width, bool all)
{
	char pid[24], ips[128], exit_text[48];
	json_int_t p = json_integer_value(json_object_get(desc, "pid"));
	json_t *ended = json_object_get(desc, "ended");
	if (p > 0)
		snprintf(pid, sizeof(pid), "%lld", (long long)p);
	else
		snprintf(pid, sizeof(pid), "-");
	format_ips(desc, ips, sizeof(ips));
	const char *state = ended ? "exited" : str_or_dash(json_object_get(desc, "state"));
	if (!all) {
		printf("%-*s %-12s %-8s %-12s %s\n", id_width, str_or_dash(json_object_get(desc, "id")),
		       state, pid, str_or_dash(json_object_get(desc, "vmm")), ips);
		return;
	}
	format_exit(ended, exit_text, sizeof(exit_text));
	printf("%-*s %-12s %-8s %-12s %-*s %-14s %s\n", id_width, str_or_dash(json_object_get(desc, "id")),
	       state, pid, str_or_dash(json_object_get(desc, "vmm")), ip_width, ips, exit_text,
	       str_or_dash(json_object_get(ended, "ended_at")));
}

static int cmd_ps(cli_ctx *cli, int argc, char **argv)
{
	cli_opts p;
	sv_manager *mgr;
	char **ids = NULL;
	int c, code = CLI_EXIT_OK;

	static const struct option longopts[] = {
	    {"all", no_argument, NULL, 'a'},
	    {0},
	};
	bool all = false;
	cli_opts_begin(&p, cli, argc, argv, "a", longopts);
	while ((c = cli_opts_next(&p)) > 0)
		all |= c == 'a';
	if (c == CLI_OPTS_EXIT)
		return p.exit_code;
	int rc = cli_no_args(&p);
	if (rc || (rc = cli_manager(cli, &mgr)))
		return rc;
	rc = sv_manager_list_vm_ids(mgr, &ids);
	if (rc < 0)
		return cli_fail(rc);

	/* One VM at a time, freed before the next: ps holds no fd per VM, so
	 * no number of VMs makes it run out (and then hide some). */
	json_t *listed = json_array();
	for (size_t i = 0; ids && ids[i]; i++) {
		sv_vm *vm;
		rc = sv_manager_attach_vm(&vm, mgr, ids[i]);
		if (rc == SV_ENOTFOUND)
			continue; /* its directory went away between listing and attaching */
		json_t *desc = rc < 0 ? NULL : describe(vm);
		if (rc >= 0)
			sv_vm_free(vm); /* attached, hence detached: keeps running */
		if (!desc) {
			/* Never hide a VM: list what we cannot describe, say why. */
			code = rc < 0 ? cli_fail(rc) : CLI_EXIT_FAILURE;
			desc = json_pack("{s:s, s:s}", "id", ids[i], "state", "unknown");
			if (rc < 0 && desc)
				json_object_set_new(desc, "error", json_string(sv_last_error()));
		}
		/* An ended VM (its end record) only with -a, like docker ps. */
		if (desc && !all && json_object_get(desc, "ended"))
			json_decref(desc);
		else if (desc)
			json_array_append_new(listed, desc);
	}
	sv_strv_free(ids);

	if (cli->json) {
		json_dumpf(listed, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	} else {
		int width = PS_ID_WIDTH, ip_width = PS_IP_WIDTH;
		for (size_t i = 0; i < json_array_size(listed); i++) {
			json_t *desc = json_array_get(listed, i);
			char ips[128];
			int len = (int)strlen(str_or_dash(json_object_get(desc, "id")));
			width = len > width ? len : width;
			format_ips(desc, ips, sizeof(ips));
			ip_width = (int)strlen(ips) > ip_width ? (int)strlen(ips) : ip_width;
		}
		if (all)
			printf("%-*s %-12s %-8s %-12s %-*s %-14s %s\n", width, "ID", "STATE", "PID", "VMM",
			       ip_width, "IP", "EXIT", "ENDED");
		else
			printf("%-*s %-12s %-8s %-12s %s\n", width, "ID", "STATE", "PID", "VMM", "IP");
		for (size_t i = 0; i < json_array_size(listed); i++)
			print_ps_row(json_array_get(listed, i), width, ip_width, all);
	}
	json_decref(listed);
	return code;
}

/* ---- inspect ---- */

/* Prints every scalar of v as "path: value", so nested config and network
 * entries read as config.machine-config.vcpu_count: 2, network[0].mac: ... */
static void print_flat(const char *path, json_t *v)
{
	char sub[512];
	const char *key;
	json_t *item;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if (json_object_size(v) == 0)
			printf("%s: {}\n", path);
		json_object_foreach(v, key, item)
		{
			snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
			print_flat(sub, item);
		}
		break;
	case JSON_ARRAY:
		if (json_array_size(v) == 0)
			printf("%s: []\n", path);
		json_array_foreach(v, i, item)
		{
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			print_flat(sub, item);
		}
		break;
	case JSON_STRING:
		printf("%s: %s\n", path, json_string_value(v));
		break;
	case JSON_INTEGER:
		printf("%s: %lld\n", path, (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		printf("%s: %g\n", path, json_real_value(v));
		break;
	case JSON_TRUE:
		printf("%s: true\n", path);
		break;
	case JSON_FALSE:
		printf("%s: false\n", path);
		break;
	case JSON_NULL:
		printf("%s: -\n", path);
		break;
	}
}

static int cmd_inspect(cli_ctx *cli, int argc, char **argv)
{
	cli_opts p;
	const char *id = NULL;
	sv_vm *vm = NULL;
	int rc = parse_id_only(&p, cli, argc, argv, &id);
	if (rc >= 0)
		return rc;
	if ((rc = cli_attach(cli, id, &vm)))
		return rc;
	json_t *desc = describe(vm);
	if (!desc)
		return CLI_EXIT_FAILURE;
	if (cli->json) {
		json_dumpf(desc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	} else {
		print_flat("", desc);
	}
	json_decref(desc);
	return CLI_EXIT_OK;
}

/* ---- pause, resume ---- */

static int act_on_vm(cli_ctx *cli, int argc, char **argv, int (*action)(sv_vm *vm))
{
	cli_opts p;
	const char *id = NULL;
	sv_vm *vm = NULL;
	int rc = parse_id_only(&p, cli, argc, argv, &id);
	if (rc >= 0)
		return rc;
	if ((rc = cli_attach(cli, id, &vm)))
		return rc;
	rc = action(vm);
	return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

static int cmd_pause(cli_ctx *cli, int argc, char **argv) { return act_on_vm(cli, argc, argv, sv_vm_pause); }

static int cmd_resume(cli_ctx *cli, int argc, char **argv)
{
	return act_on_vm(cli, argc, argv, sv_vm_resume);
}

/* ---- stop, kill: each ID in turn, printing those acted on ---- */

static int end_each(cli_ctx *cli, cli_opts *p, int (*end)(sv_vm *vm, int timeout_ms), int timeout_ms)
{
	int rc = cli_some_args(p, "VM id (ID)");
	if (rc)
		return rc;
	char **done = calloc((size_t)(p->argc - p->optind), sizeof(*done));
	size_t n = 0;
	int code = done ? CLI_EXIT_OK : cli_error(CLI_EXIT_FAILURE, "out of memory");
	for (int i = p->optind; done && i < p->argc; i++) {
		sv_vm *vm = NULL;
		if ((rc = cli_attach(cli, p->argv[i], &vm))) {
			code = rc;
			continue;
		}
		if ((rc = end(vm, timeout_ms)) < 0)
			code = cli_fail(rc);
		else
			done[n++] = p->argv[i];
		sv_vm_free(vm);
	}
	cli_print_ids(cli, done, n);
	free(done);
	return code;
}

static int kill_vm(sv_vm *vm, int unused)
{
	(void)unused;
	return sv_vm_kill(vm);
}

static int cmd_kill(cli_ctx *cli, int argc, char **argv)
{
	cli_opts p;
	int c;
	cli_opts_begin(&p, cli, argc, argv, NULL, NULL);
	while ((c = cli_opts_next(&p)) > 0)
		;
	return c == CLI_OPTS_EXIT ? p.exit_code : end_each(cli, &p, kill_vm, 0);
}

/* ---- stop ---- */

enum { OPT_TIMEOUT = CLI_OPT_LONG_BASE };

static int cmd_stop(cli_ctx *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {0},
	};
	cli_opts p;
	int c, rc, timeout_ms = -1; /* < 0: the library's default */

	cli_opts_begin(&p, cli, argc, argv, "t:", longopts);
	while ((c = cli_opts_next(&p)) > 0) {
		if ((c == OPT_TIMEOUT || c == 't') &&
		    (rc = cli_parse_seconds_ms(cli, "--timeout", p.optarg, &timeout_ms)))
			return rc;
	}
	if (c == CLI_OPTS_EXIT)
		return p.exit_code;
	return end_each(cli, &p, sv_vm_stop, timeout_ms);
}

/* ---- gc ---- */

static int cmd_gc(cli_ctx *cli, int argc, char **argv)
{
	cli_opts p;
	sv_manager *mgr;
	size_t removed = 0;
	int c;

	cli_opts_begin(&p, cli, argc, argv, NULL, NULL);
	while ((c = cli_opts_next(&p)) > 0)
		;
	if (c == CLI_OPTS_EXIT)
		return p.exit_code;
	int rc = cli_no_args(&p);
	if (rc || (rc = cli_manager(cli, &mgr)))
		return rc;
	rc = sv_manager_gc(mgr, &removed);
	if (cli->json)
		printf("{\"removed\": %zu}\n", removed);
	else
		printf("removed %zu dead VM%s\n", removed, removed == 1 ? "" : "s");
	return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

const cli_command cli_vm_commands[] = {
    {
	.name = "ps",
	.summary = "List VMs (any process's) in the runtime directory",
	.usage = "[-a] [--json]",
	.help = "Lists the live VMs under the runtime directory, whichever process\n"
		"started them, sorted by id, as a table with the columns ID, STATE\n"
		"(created, configuring, running, paused, stopped, error), PID (the VMM's;\n"
		"- when not running), VMM (firecracker or qemu) and IP (the guests'\n"
		"addresses; - without networking). A VM whose supervisor is gone, whose\n"
		"start was killed early or whose cleanup failed shows as error ('smartvm\n"
		"gc' cleans it up; inspect shows why). A directory that cannot be read is\n"
		"listed as unknown, with the reason on stderr, and ps exits 1.\n"
		"\n"
		"A VM started detached keeps an end record when it ends, until 'smartvm\n"
		"rm': -a lists those too, as exited, with two more columns: EXIT (the\n"
		"exit status: its command's for 'run -d -- CMD', else the VMM's; the\n"
		"signal that ended the VMM in parentheses; unknown when its supervisor\n"
		"was killed before recording it) and ENDED (when, UTC).\n"
		"\n"
		"Options:\n"
		"  -a, --all  also list VMs that have ended (their end records)\n"
		"  --json     print a JSON array with one object per VM (the same object\n"
		"             'smartvm inspect --json' prints; an ended VM's has \"ended\":\n"
		"             {\"exit_code\", \"signal\", \"ended_at\", \"command\", ...})\n",
	.handler = cmd_ps,
    },
    {
	.name = "inspect",
	.summary = "Show everything known about one VM",
	.usage = "ID [--json]",
	.help = "Prints the VM's id, state, VMM pid, runtime directory, console log path,\n"
		"VMM kind, base image, its configuration (Firecracker's config-file\n"
		"format) and, per network interface, the TAP name, guest IP, gateway,\n"
		"netmask and MAC, one \"key: value\" line each (nested keys joined\n"
		"with '.', list items as [N]).\n"
		"\n"
		"Options:\n"
		"  --json  print the same as one JSON object\n"
		"\n"
		"Exits 1 if there is no VM with that id.\n",
	.handler = cmd_inspect,
    },
    {
	.name = "pause",
	.summary = "Pause a running VM",
	.usage = "ID",
	.help = "Pauses the VM's vCPUs (running -> paused). Prints nothing on success.\n"
		"Exits 1 if there is no VM with that id or it is not running.\n",
	.handler = cmd_pause,
    },
    {
	.name = "resume",
	.summary = "Resume a paused VM",
	.usage = "ID",
	.help = "Resumes the VM's vCPUs (paused -> running). Prints nothing on success.\n"
		"Exits 1 if there is no VM with that id or it is not paused.\n",
	.handler = cmd_resume,
    },
    {
	.name = "stop",
	.summary = "Stop VMs gracefully and clean up",
	.usage = "ID... [--timeout S] [--json]",
	.help = "Asks each guest to shut down (Ctrl-Alt-Del / ACPI powerdown), waits, then\n"
		"sends SIGTERM and finally SIGKILL to the VMM, and removes everything the\n"
		"VM created on the host (runtime directory, staged drives, TAPs, leases).\n"
		"A VM started detached keeps its end record ('smartvm ps -a') until\n"
		"'smartvm rm'. A VM in error (its supervisor gone) gets the signals at\n"
		"once. Prints the id of each VM stopped, one per line.\n"
		"\n"
		"Options:\n"
		"  -t, --timeout S  seconds to wait for the guest before SIGTERM (may be\n"
		"                   fractional; default: the library's, 10)\n"
		"  --json           print the ids as a JSON array instead\n"
		"\n"
		"Exits 1 if there is no VM with an id or it is neither running, paused\n"
		"nor in error (the others are still stopped).\n",
	.handler = cmd_stop,
    },
    {
	.name = "kill",
	.summary = "Kill VMs' VMMs at once and clean up",
	.usage = "ID... [--json]",
	.help = "Sends SIGTERM, then SIGKILL, to each VMM without asking the guest, then\n"
		"removes everything the VM created on the host; also a VM in error or\n"
		"still configuring (a start in another process then fails, saying so).\n"
		"A VM started detached keeps its end record ('smartvm ps -a') until\n"
		"'smartvm rm'. Prints the id of each VM killed, one per line (--json: a\n"
		"JSON array).\n"
		"Exits 1 if there is no VM with an id or it has already ended (the\n"
		"others are still killed).\n",
	.handler = cmd_kill,
    },
    {
	.name = "gc",
	.summary = "Clean up the leftovers of dead VMs",
	.usage = "[--json]",
	.help = "For every VM in the runtime directory that nobody supervises any more\n"
		"(its directory's lock is free: the supervisor was SIGKILLed, or the\n"
		"start was killed before it finished), undoes what the VM created on the\n"
		"host (its ledger: the VMM process, staged drives, TAPs, leases, firewall\n"
		"rules) and removes its directory. Live VMs are not touched. What cannot\n"
		"be undone is kept (the directory, with a ledger of just those entries)\n"
		"and reported; the next gc retries it. Directories another user could\n"
		"control are refused, never acted on. The end record of a VM that\n"
		"ended detached is kept ('smartvm rm' removes it); one whose supervisor\n"
		"died gets one saying its status is unknown.\n"
		"Prints \"removed N dead VMs\"; exits 1 if anything was refused or failed.\n"
		"\n"
		"Options:\n"
		"  --json  print {\"removed\": N} instead\n",
	.handler = cmd_gc,
    },
    {0},
};
