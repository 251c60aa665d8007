/* The CLI's shared plumbing: flag parsing with the global options merged into
 * every command, help and usage text, error reporting and exit codes.
 *
 * Invariants: every error the user sees goes through cli_fail / cli_error /
 * cli_usage_error, so it always reads "smartvm: ..." (runtime and config
 * errors) or "smartvm CMD: ..." plus usage (command-line mistakes), on stderr.
 * This file calls no library function that needs a manager or a VM, so it
 * links against any stage of the library.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Values of the global options; far above any command's own. */
enum {
	OPT_DATA_DIR = 0x1000,
	OPT_RUNTIME_DIR,
	OPT_JSON,
	OPT_HELP,
	OPT_LOG_LEVEL,
	OPT_PROGRESS,
};

static const struct option global_longopts[] = {
    {"data-dir", required_argument, NULL, OPT_DATA_DIR},
    {"runtime-dir", required_argument, NULL, OPT_RUNTIME_DIR},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, OPT_HELP},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"progress", required_argument, NULL, OPT_PROGRESS},
    {0},
};

const char cli_global_options_help[] =
    "Global options (accepted by every command):\n"
    "  --data-dir DIR     persistent data (downloads, images, leases); default\n"
    "                     $SMARTVM_DATA_DIR, else /var/lib/smartvm as root,\n"
    "                     $XDG_DATA_HOME/smartvm (~/.local/share/smartvm) otherwise\n"
    "  --runtime-dir DIR  per-VM runtime directories; default $SMARTVM_RUNTIME_DIR,\n"
    "                     else /run/smartvm as root, $XDG_RUNTIME_DIR/smartvm\n"
    "                     otherwise (/tmp/smartvm-UID/runtime without it)\n"
    "                     Both must be owned by you and not writable by others.\n"
    "  --json             print machine-readable JSON where the command has output\n"
    "  --log-level LEVEL  the library's messages shown on stderr: error, warning\n"
    "                     (default; or $SMARTVM_LOG), info, debug\n"
    "  --progress WHEN    download progress bars on stderr: auto (default: when\n"
    "                     stderr is a terminal), always, never\n"
    "  -h, --help         show the command's help and exit 0\n";

const char cli_exit_codes_help[] =
    "Exit codes:\n"
    "  0  success\n"
    "  1  runtime failure (VMM, host, I/O, unknown VM id, VM ended in error)\n"
    "  2  usage error (unknown command or flag, bad value) or invalid configuration\n";

void cli_opts_begin(cli_opts *p, cli_ctx *cli, int argc, char **argv, const char *shortopts,
		    const struct option *longopts)
{
	memset(p, 0, sizeof(*p));
	p->cli = cli;
	p->argc = argc;
	p->argv = argv;
	/* ':' first: we print our own messages and tell a missing argument from
	 * an unknown option. */
	snprintf(p->shortopts, sizeof(p->shortopts), ":h%s", shortopts ? shortopts : "");

	size_t n = 0;
	for (size_t i = 0; longopts && longopts[i].name && n < CLI_MAX_OPTS - 7; i++)
		p->longopts[n++] = longopts[i];
	for (size_t i = 0; global_longopts[i].name; i++)
		p->longopts[n++] = global_longopts[i];
	/* The remaining rows stay zeroed: the terminator. */

	/* 0 makes glibc's getopt reinitialise, since main() already ran it. */
	optind = 0;
	opterr = 0;
}

/* The option text as the user typed it, for error messages. */
static const char *offending_option(cli_opts *p, char *buf, size_t len)
{
	if (optopt > 0 && optopt < CLI_OPT_LONG_BASE) {
		snprintf(buf, len, "-%c", optopt);
		return buf;
	}
	if (optind > 0 && optind <= p->argc) {
		snprintf(buf, len, "%s", p->argv[optind - 1]);
		/* "--flag=value": name just the flag. */
		char *eq = strchr(buf, '=');
		if (eq)
			*eq = '\0';
		return buf;
	}
	return "?";
}

int cli_opts_next(cli_opts *p)
{
	char buf[128];

	for (;;) {
		int c = getopt_long(p->argc, p->argv, p->shortopts, p->longopts, NULL);
		p->optarg = optarg;
		switch (c) {
		case -1:
			p->optind = optind;
			return CLI_OPTS_DONE;
		case 'h':
		case OPT_HELP:
			cli_print_help(p->cli->cmd, stdout);
			p->exit_code = CLI_EXIT_OK;
			return CLI_OPTS_EXIT;
		case OPT_DATA_DIR:
			p->cli->data_dir = optarg;
			continue;
		case OPT_RUNTIME_DIR:
			p->cli->runtime_dir = optarg;
			continue;
		case OPT_JSON:
			p->cli->json = true;
			continue;
		case OPT_LOG_LEVEL:
			if ((p->exit_code = cli_set_log_level(p->cli, optarg)))
				return CLI_OPTS_EXIT;
			continue;
		case OPT_PROGRESS:
			if ((p->exit_code = cli_set_progress(p->cli, optarg)))
				return CLI_OPTS_EXIT;
			continue;
		case ':':
			p->exit_code = cli_usage_error(p->cli, "option %s requires an argument",
						       offending_option(p, buf, sizeof(buf)));
			return CLI_OPTS_EXIT;
		case '?':
			p->exit_code = cli_usage_error(p->cli, "unknown option %s",
						       offending_option(p, buf, sizeof(buf)));
			return CLI_OPTS_EXIT;
		default:
			return c;
		}
	}
}

int cli_no_args(cli_opts *p)
{
	if (p->optind < p->argc)
		return cli_usage_error(p->cli, "unexpected argument \"%s\"", p->argv[p->optind]);
	return 0;
}

int cli_one_arg(cli_opts *p, const char *what, const char **out)
{
	if (p->optind >= p->argc)
		return cli_usage_error(p->cli, "missing %s", what);
	if (p->optind + 1 < p->argc)
		return cli_usage_error(p->cli, "unexpected argument \"%s\"", p->argv[p->optind + 1]);
	*out = p->argv[p->optind];
	return 0;
}

int cli_some_args(cli_opts *p, const char *what)
{
	return p->optind < p->argc ? 0 : cli_usage_error(p->cli, "missing %s", what);
}

int cli_parse_u32(cli_ctx *cli, const char *flag, const char *text, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end = NULL;
	errno = 0;
	/* strtoull accepts a sign; a number of things must not have one. */
	unsigned long long v = text[0] >= '0' && text[0] <= '9' ? strtoull(text, &end, 10) : 0;
	if (!end || *end != '\0' || errno != 0 || v < min || v > max)
		return cli_usage_error(cli, "%s: \"%s\" is not an integer from %u to %u", flag, text,
				       (unsigned)min, (unsigned)max);
	*out = (uint32_t)v;
	return 0;
}

int cli_parse_seconds_ms(cli_ctx *cli, const char *flag, const char *text, int *out_ms)
{
	char *end = NULL;
	errno = 0;
	double v = (text[0] >= '0' && text[0] <= '9') || text[0] == '.' ? strtod(text, &end) : -1;
	if (!end || *end != '\0' || errno != 0 || !isfinite(v) || v < 0 || v * 1000.0 > INT_MAX)
		return cli_usage_error(cli, "%s: \"%s\" is not a non-negative number of seconds", flag, text);
	*out_ms = (int)(v * 1000.0 + 0.5); /* no libm: round by hand */
	return 0;
}

int cli_exit_code(int rc)
{
	if (rc == 0)
		return CLI_EXIT_OK;
	if (rc == SV_EINVAL || rc == SV_EINVALID_SUBNET)
		return CLI_EXIT_USAGE;
	return CLI_EXIT_FAILURE;
}

int cli_fail(int rc)
{
	const char *msg = sv_last_error();
	if (!msg || !*msg)
		msg = sv_error_name(rc);
	fprintf(stderr, "smartvm: %s\n", msg);
	return cli_exit_code(rc);
}

int cli_error(int exit_code, const char *fmt, ...)
{
	va_list ap;
	fputs("smartvm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return exit_code;
}

int cli_usage_error(cli_ctx *cli, const char *fmt, ...)
{
	va_list ap;
	const char *name = cli->cmd ? cli->cmd->name : NULL;

	fprintf(stderr, "smartvm%s%s: ", name ? " " : "", name ? name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cli->cmd) {
		cli_print_usage(cli->cmd, stderr);
		fprintf(stderr, "Run 'smartvm %s --help' for details.\n", name);
	} else {
		fputs("Run 'smartvm --help' for the list of commands.\n", stderr);
	}
	return CLI_EXIT_USAGE;
}

int cli_no_subcommand(cli_ctx *cli, int argc, char **argv)
{
	cli_opts p;
	int c;
	cli_opts_begin(&p, cli, argc, argv, NULL, NULL);
	while ((c = cli_opts_next(&p)) > 0)
		;
	if (c == CLI_OPTS_EXIT)
		return p.exit_code;
	if (p.optind < argc)
		return cli_usage_error(cli, "unknown subcommand \"%s\"", argv[p.optind]);
	return cli_usage_error(cli, "missing subcommand");
}

void cli_print_usage(const cli_command *cmd, FILE *f)
{
	const char *line = cmd->usage ? cmd->usage : "";
	bool first = true;

	do {
		const char *nl = strchr(line, '\n');
		int len = nl ? (int)(nl - line) : (int)strlen(line);
		if (!first && *line == ' ') /* continuation of the form above */
			fprintf(f, "       %*s%.*s\n", (int)strlen(cmd->name) + 9, "", len - 1, line + 1);
		else
			fprintf(f, "%s smartvm %s%s%.*s\n", first ? "Usage:" : "      ", cmd->name,
				len ? " " : "", len, line);
		first = false;
		line = nl ? nl + 1 : NULL;
	} while (line && *line);
}

void cli_print_help(const cli_command *cmd, FILE *f)
{
	cli_print_usage(cmd, f);
	fprintf(f, "\n%s\n", cmd->summary);
	if (cmd->help && *cmd->help)
		fprintf(f, "\n%s", cmd->help);
	fprintf(f, "\n%s\n%s", cli_global_options_help, cli_exit_codes_help);
}

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig) { stop_requested = sig; }

void cli_catch_stop_signals(void)
{
	/* SA_RESTART: the library's syscalls carry on; our loops poll the flag
	 * between short, bounded waits. */
	struct sigaction sa = {.sa_handler = on_stop_signal, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

bool cli_stop_requested(void) { return stop_requested != 0; }

int cli_stop_exit_code(void) { return 128 + (int)stop_requested; }

int cli_copy_to_stdout(int fd)
{
	char buf[65536];

	fflush(stdout); /* keep order with anything printed through stdio */
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(STDOUT_FILENO, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -1;
			off += w;
		}
	}
	return 0;
}
