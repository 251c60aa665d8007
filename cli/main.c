/* smartvm's entry point: global options, command dispatch, `smartvm --help`,
 * and the commands about the tool itself (help, version).
 *
 * main() never does a command's work: it finds the row, runs its handler,
 * releases what the command acquired (cli->release) and returns the code.
 * Every other command lives in a group file (cli/cmd_<group>.c) whose table is
 * listed in `groups` below.
 */
#include "cli.h"

#include <signal.h>
#include <string.h>

static int cmd_help(cli_ctx *cli, int argc, char **argv);
static int cmd_version(cli_ctx *cli, int argc, char **argv);

static const cli_command cli_self_commands[] = {
    {
	.name = "help",
	.summary = "Show the list of commands, or one command's help",
	.usage = "[COMMAND]",
	.help = "Without COMMAND, lists every command. With COMMAND, prints the same\n"
		"text as 'smartvm COMMAND --help'.\n",
	.handler = cmd_help,
    },
    {
	.name = "version",
	.summary = "Print smartvm's version",
	.usage = "[--json]",
	.help = "Prints \"smartvm <version>\" (the library's version).\n"
		"  --json  print {\"version\": \"<version>\"} instead\n",
	.handler = cmd_version,
    },
    {0},
};

/* The command groups, in the order `smartvm --help` lists them. Each table
 * ends with a zeroed row. Add a group: declare its table and list it (one
 * line each, under the comment naming it). */
/* foundation */
extern const cli_command cli_run_commands[];
extern const cli_command cli_vm_commands[];
extern const cli_command cli_vm_end_commands[];
extern const cli_command cli_logs_commands[];
extern const cli_command cli_attach_commands[];

/* images */
extern const cli_command cli_binary_commands[];
extern const cli_command cli_image_commands[];

/* net */
extern const cli_command cli_net_commands[];

/* live operations */
extern const cli_command cli_snapshot_commands[];
extern const cli_command cli_mmds_commands[];
extern const cli_command cli_balloon_commands[];
extern const cli_command cli_drive_commands[];
extern const cli_command cli_metrics_commands[];

/* guest agent */
extern const cli_command cli_agent_commands[];

static const cli_command *const groups[] = {
    /* foundation */
    cli_run_commands,
    cli_vm_commands,
    cli_vm_end_commands,
    cli_logs_commands,
    cli_attach_commands,

    /* images */
    cli_binary_commands,
    cli_image_commands,

    /* net */
    cli_net_commands,

	/* live operations */
	cli_snapshot_commands,
	cli_mmds_commands,
	cli_balloon_commands,
	cli_drive_commands,
	cli_metrics_commands,

    /* guest agent */
    cli_agent_commands,

    cli_self_commands,
};

static const cli_command *find_command(const char *name)
{
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
		for (const cli_command *c = groups[g]; c->name; c++)
			if (strcmp(c->name, name) == 0)
				return c;
	return NULL;
}

static void print_main_help(FILE *f)
{
	fputs("Usage: smartvm [GLOBAL OPTIONS] COMMAND [ARGS]\n"
	      "\n"
	      "Boot and control microVMs (Firecracker, or QEMU's microvm machine).\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
		for (const cli_command *c = groups[g]; c->name; c++)
			fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f,
		"\nRun 'smartvm COMMAND --help' (or 'smartvm help COMMAND') for a command's\n"
		"flags. Global options may come before or after the command.\n"
		"\n%s\n%s",
		cli_global_options_help, cli_exit_codes_help);
}

/* Parses a command that takes only the global options; returns -1 to go on,
 * else the exit code. */
static int parse_globals_only(cli_opts *p, cli_ctx *cli, int argc, char **argv)
{
	int c;
	cli_opts_begin(p, cli, argc, argv, NULL, NULL);
	while ((c = cli_opts_next(p)) > 0)
		; /* no options of its own: the parser rejects any */
	return c == CLI_OPTS_EXIT ? p->exit_code : -1;
}

static int cmd_help(cli_ctx *cli, int argc, char **argv)
{
	cli_opts p;
	int rc = parse_globals_only(&p, cli, argc, argv);
	if (rc >= 0)
		return rc;
	if (p.optind >= argc) {
		print_main_help(stdout);
		return CLI_EXIT_OK;
	}
	const char *name = NULL;
	rc = cli_one_arg(&p, "COMMAND", &name);
	if (rc)
		return rc;
	const cli_command *cmd = find_command(name);
	if (!cmd)
		return cli_usage_error(cli, "unknown command \"%s\"", name);
	cli_print_help(cmd, stdout);
	return CLI_EXIT_OK;
}

static int cmd_version(cli_ctx *cli, int argc, char **argv)
{
	cli_opts p;
	int rc = parse_globals_only(&p, cli, argc, argv);
	if (rc >= 0)
		return rc;
	rc = cli_no_args(&p);
	if (rc)
		return rc;
	if (cli->json)
		printf("{\"version\": \"%s\"}\n", sv_version());
	else
		printf("smartvm %s\n", sv_version());
	return CLI_EXIT_OK;
}

/* The options main() accepts before the command name. */
enum { OPT_DATA_DIR = 1, OPT_RUNTIME_DIR, OPT_JSON, OPT_HELP, OPT_VERSION, OPT_LOG_LEVEL, OPT_PROGRESS };
static const struct option main_longopts[] = {
    {"data-dir", required_argument, NULL, OPT_DATA_DIR},
    {"runtime-dir", required_argument, NULL, OPT_RUNTIME_DIR},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"progress", required_argument, NULL, OPT_PROGRESS},
    {0},
};

int main(int argc, char **argv)
{
	cli_ctx cli = {.opts = SV_MANAGER_OPTIONS_INIT};
	int c, code;

	/* A closed stdout must not kill us while we own a running VM: writes
	 * fail with EPIPE instead and the command decides. */
	signal(SIGPIPE, SIG_IGN);
	/* Before any flag: --log-level (here or after the command) wins over
	 * SMARTVM_LOG. */
	if ((code = cli_log_init(&cli)))
		return code;

	opterr = 0;
	/* '+': stop at the command name; its flags are the command's to parse. */
	while ((c = getopt_long(argc, argv, "+:h", main_longopts, NULL)) != -1) {
		switch (c) {
		case OPT_DATA_DIR:
			cli.data_dir = optarg;
			break;
		case OPT_RUNTIME_DIR:
			cli.runtime_dir = optarg;
			break;
		case OPT_JSON:
			cli.json = true;
			break;
		case OPT_LOG_LEVEL:
			if ((code = cli_set_log_level(&cli, optarg)))
				return code;
			break;
		case OPT_PROGRESS:
			if ((code = cli_set_progress(&cli, optarg)))
				return code;
			break;
		case 'h':
		case OPT_HELP:
			print_main_help(stdout);
			return CLI_EXIT_OK;
		case OPT_VERSION:
			printf("smartvm %s\n", sv_version());
			return CLI_EXIT_OK;
		case ':':
			return cli_usage_error(&cli, "option %s requires an argument", argv[optind - 1]);
		default:
			return cli_usage_error(&cli, "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage_error(&cli, "missing command");

	cli.cmd = find_command(argv[optind]);
	if (!cli.cmd)
		return cli_usage_error(&cli, "unknown command \"%s\"", argv[optind]);

	code = cli.cmd->handler(&cli, argc - optind, argv + optind);
	if (cli.release)
		cli.release(&cli);
	fflush(stdout);
	return code;
}
