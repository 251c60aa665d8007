/* `smartvm exec` and `smartvm cp`: a running VM through its guest agent
 * (<smartvm/agent.h>), as Docker users type them.
 *
 *   smartvm exec [-i] [-t] [-e K=V]... [-w DIR] [-u UID[:GID]] [--ulimit NAME=SOFT[:HARD]]...
 *                ID [--] CMD [ARG]...
 *   smartvm cp [-a] [--allow-outside-links] SRC ID:DST | ID:SRC DST
 *
 * exec's options come before ID; everything after ID (or after "--") is the
 * command, passed exactly. Its exit status is the command's, 126/127 when
 * it could not run, 128+N after signal N. */
#include "cli.h"
#include "cmd_run_agent.h"
#include "cmd_run_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_ALLOW_OUTSIDE = CLI_OPT_LONG_BASE + 0x1C0,
	OPT_AGENT_TIMEOUT,
	OPT_ULIMIT,
};

static const struct option exec_opts[] = {
    {"interactive", no_argument, NULL, 'i'}, {"tty", no_argument, NULL, 't'},
    {"env", required_argument, NULL, 'e'},   {"workdir", required_argument, NULL, 'w'},
    {"user", required_argument, NULL, 'u'},  {"ulimit", required_argument, NULL, OPT_ULIMIT},
    {0},
};

/* The options of exec that take a value (as typed, without "="), so the
 * first word that is none of them and no option is the VM's id. */
static bool takes_value(const char *arg)
{
	static const char *const with_value[] = {
	    "-e", "--env", "-w", "--workdir", "-u", "--user", "--ulimit", "--data-dir", "--runtime-dir", NULL};
	for (size_t i = 0; with_value[i]; i++)
		if (!strcmp(arg, with_value[i]))
			return true;
	/* "-ie" and the like: a cluster ending in a flag that takes a value */
	size_t n = strlen(arg);
	return arg[0] == '-' && arg[1] != '-' && n > 2 && strchr("ewu", arg[n - 1]) && !strchr(arg, '=');
}

/* Cuts argv after the id (Docker's `exec ID CMD...`) unless "--" does it. */
static void split_after_id(int *argc, char **argv, char ***cmd)
{
	for (int i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "--"))
			return; /* cli_run_split_command's job */
		if (argv[i][0] == '-' && argv[i][1]) {
			if (takes_value(argv[i]))
				i++;
			continue;
		}
		if (i + 1 < *argc && strcmp(argv[i + 1], "--") != 0) {
			*cmd = argv + i + 1;
			*argc = i + 1;
		}
		return;
	}
}

static int parse_user(cli_ctx *cli, const char *arg, cli_run_agent *a)
{
	char *copy = strdup(arg);
	if (!copy)
		return cli_error(CLI_EXIT_FAILURE, "out of memory");
	char *colon = strchr(copy, ':');
	if (colon)
		*colon++ = '\0';
	int rc = cli_parse_u32(cli, "-u", copy, 0, UINT32_MAX - 1, &a->uid);
	a->gid = a->uid;
	if (!rc && colon)
		rc = cli_parse_u32(cli, "-u", colon, 0, UINT32_MAX - 1, &a->gid);
	free(copy);
	return rc;
}

/* One limit value: a number, or "unlimited" / -1. */
static int parse_limit(cli_ctx *cli, const char *arg, const char *text, uint64_t *out)
{
	if (!strcmp(text, "unlimited") || !strcmp(text, "-1")) {
		*out = SV_RLIM_INFINITY;
		return 0;
	}
	char *end = NULL;
	errno = 0;
	unsigned long long v = text[0] >= '0' && text[0] <= '9' ? strtoull(text, &end, 10) : 0;
	if (!end || *end || errno)
		return cli_usage_error(cli, "--ulimit \"%s\": \"%s\" is not a number or \"unlimited\"", arg,
				       text);
	*out = v;
	return 0;
}

/* --ulimit NAME=SOFT[:HARD] as docker takes it (HARD defaults to SOFT). */
static int parse_ulimit(cli_ctx *cli, const char *arg, sv_exec_rlimit *lims, size_t *n)
{
	char name[32], soft[32], hard[32] = "";
	const char *eq = strchr(arg, '='), *colon = eq ? strchr(eq + 1, ':') : NULL;
	size_t nlen = eq ? (size_t)(eq - arg) : 0, slen = eq ? (colon ? (size_t)(colon - eq - 1) : strlen(eq + 1)) : 0;
	if (!eq || !nlen || nlen >= sizeof(name) || !slen || slen >= sizeof(soft) ||
	    (colon && (!colon[1] || strlen(colon + 1) >= sizeof(hard))))
		return cli_usage_error(cli, "--ulimit \"%s\": expected NAME=SOFT[:HARD] (e.g. nofile=1024:2048)",
				       arg);
	memcpy(name, arg, nlen);
	name[nlen] = '\0';
	memcpy(soft, eq + 1, slen);
	soft[slen] = '\0';
	snprintf(hard, sizeof(hard), "%s", colon ? colon + 1 : soft);
	sv_exec_rlimit r = {.resource = sv_rlimit_by_name(name)};
	if (r.resource < 0)
		return cli_usage_error(cli,
				       "--ulimit \"%s\": \"%s\" is not a resource limit (nofile, nproc, core, "
				       "stack, memlock, ...)",
				       arg, name);
	int rc;
	if ((rc = parse_limit(cli, arg, soft, &r.soft)) || (rc = parse_limit(cli, arg, hard, &r.hard)))
		return rc;
	if (r.soft > r.hard)
		return cli_usage_error(cli, "--ulimit \"%s\": the soft limit is above the hard one", arg);
	for (size_t i = 0; i < *n; i++)
		if (lims[i].resource == r.resource) {
			lims[i] = r; /* the last one wins, as in docker */
			return 0;
		}
	lims[(*n)++] = r; /* at most one per resource: never more than SV_EXEC_MAX_RLIMITS */
	return 0;
}

static int cmd_exec(cli_ctx *cli, int argc, char **argv)
{
	char **cmd = NULL;
	split_after_id(&argc, argv, &cmd);
	int rc;
	if (!cmd && (rc = cli_run_split_command(cli, &argc, argv, &cmd)))
		return rc;
	cli_run_agent a = {0};
	sv_exec_rlimit lims[SV_EXEC_MAX_RLIMITS] = {{0}};
	size_t n_lims = 0;
	const char **env = calloc((size_t)argc + 1, sizeof(*env));
	size_t n_env = 0;
	if (!env)
		return cli_error(CLI_EXIT_FAILURE, "out of memory");
	cli_opts p;
	int c;
	rc = 0;
	cli_opts_begin(&p, cli, argc, argv, "ite:w:u:", exec_opts);
	while (rc == 0 && (c = cli_opts_next(&p)) > 0) {
		switch (c) {
		case 'i':
			a.interactive = true;
			break;
		case 't':
			a.tty = true;
			break;
		case 'e':
			if (!strchr(p.optarg, '=') || p.optarg[0] == '=')
				rc = cli_usage_error(cli, "-e \"%s\": expected K=V", p.optarg);
			else
				env[n_env++] = p.optarg;
			break;
		case 'w':
			if (p.optarg[0] != '/')
				rc = cli_usage_error(cli, "-w \"%s\": the directory must be absolute",
						     p.optarg);
			a.cwd = p.optarg;
			break;
		case 'u':
			rc = parse_user(cli, p.optarg, &a);
			break;
		case OPT_ULIMIT:
			rc = parse_ulimit(cli, p.optarg, lims, &n_lims);
			break;
		}
	}
	if (!rc && c == CLI_OPTS_EXIT)
		rc = p.exit_code;
	if (!rc && p.optind != p.argc - 1)
		rc = cli_usage_error(cli, p.optind >= p.argc ? "missing ID" : "one ID, then the command");
	if (!rc && !cmd)
		rc = cli_usage_error(cli, "missing the command: smartvm exec ID CMD [ARG]...");
	sv_vm *vm = NULL;
	if (!rc)
		rc = cli_attach(cli, p.argv[p.optind], &vm);
	if (!rc) {
		a.env = env;
		a.rlimits = lims;
		a.n_rlimits = n_lims;
		rc = cli_agent_exec(vm, cmd, &a);
	}
	free(env);
	return rc;
}

/* ---- cp ---- */

static const struct option cp_opts[] = {
    {"archive", no_argument, NULL, 'a'},
    {"allow-outside-links", no_argument, NULL, OPT_ALLOW_OUTSIDE},
    {0},
};

/* "ID:PATH" with a valid-looking id (no '/' before the colon): *id and
 * *path point into a copy (malloc'd in *buf). */
static bool vm_path(const char *arg, char **buf, char **id, char **path)
{
	const char *colon = strchr(arg, ':');
	if (!colon || colon == arg || memchr(arg, '/', (size_t)(colon - arg)))
		return false;
	*buf = strdup(arg);
	if (!*buf)
		return false;
	(*buf)[colon - arg] = '\0';
	*id = *buf;
	*path = *buf + (colon - arg) + 1;
	return true;
}

static int cmd_cp(cli_ctx *cli, int argc, char **argv)
{
	sv_copy_options o = SV_COPY_OPTIONS_INIT;
	cli_opts p;
	int c, rc = 0;
	cli_opts_begin(&p, cli, argc, argv, "a", cp_opts);
	while ((c = cli_opts_next(&p)) > 0) {
		if (c == 'a')
			o.keep_owner = true;
		else if (c == OPT_ALLOW_OUTSIDE)
			o.allow_outside_links = true;
	}
	if (c == CLI_OPTS_EXIT)
		return p.exit_code;
	if (p.argc - p.optind != 2)
		return cli_usage_error(cli, "expected SRC ID:DST or ID:SRC DST");
	const char *src = p.argv[p.optind], *dst = p.argv[p.optind + 1];
	char *buf = NULL, *id = NULL, *path = NULL;
	bool from = vm_path(src, &buf, &id, &path);
	char *buf2 = NULL, *id2 = NULL, *path2 = NULL;
	bool to = vm_path(dst, &buf2, &id2, &path2);
	if (from == to) {
		rc = cli_usage_error(cli, "exactly one of SRC and DST is ID:PATH (\"%s\", \"%s\")", src, dst);
	} else {
		sv_vm *vm = NULL;
		if (!(rc = cli_attach(cli, from ? id : id2, &vm))) {
			int r = from ? sv_vm_copy_from(vm, path, dst, &o) : sv_vm_copy_to(vm, src, path2, &o);
			rc = r < 0 ? cli_fail(r) : CLI_EXIT_OK;
		}
	}
	free(buf);
	free(buf2);
	return rc;
}

const cli_command cli_agent_commands[] = {
    {
	.name = "exec",
	.summary = "Run a command in a running VM (guest agent)",
	.usage = "[-i] [-t] [-e K=V]... [-w DIR] [-u UID[:GID]] [--ulimit NAME=SOFT[:HARD]]... ID [--] CMD "
		 "[ARG]...",
	.help = "Runs CMD in the running VM ID through its guest agent (images with\n"
		"smartvm-agent: the minimal image, or any image it is installed in, see\n"
		"guest/README.md). CMD and its arguments are passed exactly. Its stdout and\n"
		"stderr come to ours, apart; SIGINT and SIGTERM go to it.\n"
		"\n"
		"Options (before ID):\n"
		"  -i, --interactive  our stdin goes to CMD (default: /dev/null)\n"
		"  -t, --tty          run CMD on a terminal in the guest; ours is put in raw\n"
		"                     mode and its size follows ours\n"
		"  -e, --env K=V      a variable of CMD's environment (repeatable). The\n"
		"                     environment is exactly these, plus PATH and HOME when\n"
		"                     not given (and TERM with -t)\n"
		"  -w, --workdir DIR  CMD's working directory (default /)\n"
		"  -u, --user UID[:GID]\n"
		"                     run CMD as this uid and gid (numbers; default 0:0; GID\n"
		"                     defaults to UID)\n"
		"  --ulimit NAME=SOFT[:HARD]\n"
		"                     a resource limit of CMD, as docker run --ulimit takes\n"
		"                     it (repeatable): nofile, nproc, core, stack, memlock,\n"
		"                     ... (or RLIMIT_NOFILE...); numbers or \"unlimited\";\n"
		"                     HARD defaults to SOFT\n"
		"\n"
		"Exits with CMD's status: 127 when it is not found, 126 when it cannot be\n"
		"executed, 128+N after signal N; 1 when smartvm itself failed (no such VM,\n"
		"no agent answering, the VM ended).\n",
	.handler = cmd_exec,
    },
    {
	.name = "cp",
	.summary = "Copy files between the host and a running VM (guest agent)",
	.usage = "[-a] [--allow-outside-links] SRC ID:DST\n"
		 "[-a] [--allow-outside-links] ID:SRC DST",
	.help = "Copies a file, a directory tree or a symlink into or out of the running\n"
		"VM ID, through its guest agent, as `docker cp` does: when DST is an\n"
		"existing directory, SRC goes inside it under its own name; else it\n"
		"becomes DST (whose parent must exist). Guest paths are absolute.\n"
		"Regular files keep their mode and mtime and are checked by SHA-256;\n"
		"symlinks are copied as symlinks.\n"
		"\n"
		"Copying out of a VM treats the guest as hostile: entries are created\n"
		"only inside DST, never through a symlink; a symlink whose target is\n"
		"absolute or leaves the copied tree is refused; set-id bits are dropped.\n"
		"\n"
		"Options:\n"
		"  -a, --archive      keep owners (uid/gid) both ways (default: files in\n"
		"                     the guest belong to root, files on the host to you)\n"
		"  --allow-outside-links\n"
		"                     copy symlinks pointing outside the copied tree too\n",
	.handler = cmd_cp,
    },
    {0},
};
