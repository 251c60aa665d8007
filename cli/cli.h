/* The smartvm command line: the context every command shares, the command-table
 * row, and the helpers every command uses to parse flags, report errors and
 * pick exit codes.
 *
 * The CLI has no logic of its own. A command parses its flags (cli_opts_*),
 * calls the public library API (include/smartvm/), prints, and returns an exit
 * code. It never reaches into src/ internals, never prints an error in a format
 * of its own (cli_fail / cli_error / cli_usage_error do that), and never exits
 * the process itself: main() frees the manager and returns the handler's code.
 *
 * Adding a command: one row in a group's table (cli/cmd_<group>.c, ended by a
 * zeroed row), the group in main.c's list, the file in cli/meson.build.
 */
#ifndef SMARTVM_CLI_H
#define SMARTVM_CLI_H

#include <getopt.h>
#include <smartvm/smartvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes of every command (documented in `smartvm --help`). */
enum {
	CLI_EXIT_OK = 0,      /* success */
	CLI_EXIT_FAILURE = 1, /* a runtime failure (VMM, host, I/O, unknown VM id) */
	CLI_EXIT_USAGE = 2,   /* bad command line or invalid configuration */
};

typedef struct cli_command cli_command;
typedef struct cli_ctx cli_ctx;

/* The state one invocation shares between main() and the command. */
struct cli_ctx {
	const char *data_dir;	 /* --data-dir; NULL = library default (SMARTVM_DATA_DIR) */
	const char *runtime_dir; /* --runtime-dir; NULL = library default (SMARTVM_RUNTIME_DIR) */
	bool json;		 /* --json: machine-readable output */
	/* Manager options. cli_manager() fills data_dir/runtime_dir from the
	 * fields above; a command may set others (e.g. firecracker_binary_path)
	 * before its first cli_manager() call. Strings are borrowed from argv. */
	sv_manager_options opts;
	sv_manager *mgr; /* made on first cli_manager() */
	/* Set by cli_manager(); main() calls it after the command returns. A hook
	 * rather than a direct call so main.c and cli.c link against any stage of
	 * the library. */
	void (*release)(cli_ctx *cli);
	const cli_command *cmd; /* the command being run */
	/* --log-level / SMARTVM_LOG and --progress (cli_log.c). */
	sv_log_severity log_level;
	enum { CLI_PROGRESS_AUTO = 0, CLI_PROGRESS_ALWAYS, CLI_PROGRESS_NEVER } progress;
	sv_download_options download; /* what cli_download_options() hands out */
	long long bar_drawn_ms;
	bool bar_drawing;
};

/* One row of a command table. */
struct cli_command {
	const char *name;    /* "run" */
	const char *summary; /* one line for `smartvm --help` */
	/* What follows "smartvm <name>" in the usage line, e.g. "ID [--timeout S]".
	 * Several forms are separated by '\n'; a line starting with ' ' continues
	 * the form above it. */
	const char *usage;
	/* The body of `smartvm <name> --help`: what it does, every flag with its
	 * default, command-specific exit codes. The global options and the
	 * common exit codes are appended by cli_print_help(). */
	const char *help;
	/* argv[0] is the command name; the handler parses the rest with cli_opts_*
	 * and returns a CLI_EXIT_* code. */
	int (*handler)(cli_ctx *cli, int argc, char **argv);
};

/* ---- flag parsing (getopt_long, with the global options merged in) ---- */

/* Option values for long-only options of a command start here; values below
 * are short options (their character). */
#define CLI_OPT_LONG_BASE 0x100

/* Values the parser returns besides a command's own option values. */
enum {
	CLI_OPTS_DONE = 0,  /* all options consumed; positional args start at p->optind */
	CLI_OPTS_EXIT = -1, /* --help printed or usage error printed: return p->exit_code */
};

#define CLI_MAX_OPTS 48

typedef struct {
	cli_ctx *cli;
	int argc;
	char **argv;
	char shortopts[64];
	struct option longopts[CLI_MAX_OPTS];
	int optind;	    /* after CLI_OPTS_DONE: index of the first positional arg */
	int exit_code;	    /* after CLI_OPTS_EXIT */
	const char *optarg; /* the current option's argument */
} cli_opts;

/* Starts parsing argv (argv[0] = command name). shortopts/longopts are the
 * command's own (getopt syntax; longopts may be NULL, ends with a zeroed row).
 * --help/-h, --data-dir, --runtime-dir and --json are handled here and never
 * returned. Options and positional arguments may be interleaved. */
void cli_opts_begin(cli_opts *p, cli_ctx *cli, int argc, char **argv, const char *shortopts,
		    const struct option *longopts);

/* The next of the command's own options (its value; p->optarg holds the
 * argument), CLI_OPTS_DONE, or CLI_OPTS_EXIT. */
int cli_opts_next(cli_opts *p);

/* After CLI_OPTS_DONE: checks that no positional argument was given. */
int cli_no_args(cli_opts *p);

/* After CLI_OPTS_DONE: exactly one positional argument, named `what` in the
 * error ("missing ID"). *out points into argv. Returns 0 or CLI_EXIT_USAGE. */
int cli_one_arg(cli_opts *p, const char *what, const char **out);

/* After CLI_OPTS_DONE: at least one positional argument (p->argv[p->optind]
 * to p->argv[p->argc - 1]), named `what` in the error. Returns 0 or
 * CLI_EXIT_USAGE. */
int cli_some_args(cli_opts *p, const char *what);

/* Prints the ids a command acted on: one per line, or with --json a JSON
 * array of strings. */
void cli_print_ids(cli_ctx *cli, char *const *ids, size_t n);

/* Parses a decimal integer flag value in [min, max]. Returns 0 or prints a
 * usage error naming the flag and returns CLI_EXIT_USAGE. */
int cli_parse_u32(cli_ctx *cli, const char *flag, const char *text, uint32_t min, uint32_t max,
		  uint32_t *out);

/* Parses a non-negative number of seconds (may be fractional, e.g. "0.5") into
 * milliseconds. Returns 0 or CLI_EXIT_USAGE (message printed). */
int cli_parse_seconds_ms(cli_ctx *cli, const char *flag, const char *text, int *out_ms);

/* ---- errors and exit codes ---- */

/* The exit code for a library result: 0 -> 0, bad argument/config -> 2, else 1. */
int cli_exit_code(int rc);

/* Prints "smartvm: <sv_last_error()>" to stderr; returns cli_exit_code(rc). */
int cli_fail(int rc);

/* Prints "smartvm: <formatted>" to stderr; returns exit_code. */
int cli_error(int exit_code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "smartvm <cmd>: <formatted>", the command's usage and a pointer to
 * --help to stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(cli_ctx *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* For a command with subcommands when argv names none it knows: still
 * honours --help and the global options, then reports the unknown (first
 * positional argument) or missing subcommand. Returns the exit code. */
int cli_no_subcommand(cli_ctx *cli, int argc, char **argv);

/* ---- help ---- */

/* The usage lines of cmd ("Usage: smartvm run ..."). */
void cli_print_usage(const cli_command *cmd, FILE *f);
/* The full help of cmd: usage, body, global options, exit codes. */
void cli_print_help(const cli_command *cmd, FILE *f);

/* The text of the global options and of the exit codes (used by main's help). */
extern const char cli_global_options_help[];
extern const char cli_exit_codes_help[];

/* ---- signals and streaming ---- */

/* From now on SIGINT and SIGTERM only set a flag (read with
 * cli_stop_requested), so a command can stop its VM and clean up. */
void cli_catch_stop_signals(void);
bool cli_stop_requested(void);
/* After a stop signal: the shell's code for it, 128 + N (130 for Ctrl-C). */
int cli_stop_exit_code(void);

/* Copies whatever fd has from its current offset to EOF to stdout. Returns 0,
 * or -1 if stdout is gone (EPIPE) or writing failed. Read errors end the copy. */
int cli_copy_to_stdout(int fd);

/* ---- the library's messages and download progress (cli_log.c) ---- */

/* Installs the log callback at SMARTVM_LOG's level (default warning). */
int cli_log_init(cli_ctx *cli);
/* --log-level LEVEL and --progress WHEN. Return 0 or CLI_EXIT_USAGE
 * (message printed). */
int cli_set_log_level(cli_ctx *cli, const char *text);
int cli_set_progress(cli_ctx *cli, const char *text);
/* Download options for a command that downloads: a progress bar on stderr
 * when --progress asks for one (auto: when stderr is a terminal). */
const sv_download_options *cli_download_options(cli_ctx *cli);

/* ---- the library ---- */

/* The manager for this invocation, made on first use from cli->opts with the
 * global options applied. Returns 0, or prints the error and returns an exit
 * code. */
int cli_manager(cli_ctx *cli, sv_manager **out);

/* Attaches to the VM with this id. Returns 0, or prints the error
 * ("no VM with id \"x\"" for an unknown id) and returns an exit code. */
int cli_attach(cli_ctx *cli, const char *id, sv_vm **out);

/* Prints JSON text to stdout, re-indented (2 spaces, keys in their order).
 * Returns 0 or an exit code (message printed) if the text isn't JSON. */
int cli_print_json_text(const char *json_text);

/* The same with every object key in snake_case ("bundleId" -> "bundle_id"),
 * the one key style of --json output, for JSON whose file format is
 * camelCase (bundle.json, from the seed). */
int cli_print_json_snake(const char *json_text);

#endif
