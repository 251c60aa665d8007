/* `smartvm binary ensure`: get a verified Firecracker binary (the seed's
 * ensureBinary) and print where it is. All the work is sv_ensure_binary's;
 * this file only parses flags and prints. */
#include "cli.h"

#include <jansson.h>
#include <smartvm/images.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_VERSION = CLI_OPT_LONG_BASE, OPT_ARCH };

static const struct option ensure_longopts[] = {
	{"version", required_argument, NULL, OPT_VERSION},
	{"arch", required_argument, NULL, OPT_ARCH},
	{0},
};

/* ".../bin/<tag>/firecracker" -> "<tag>" (malloc'd). */
static char *tag_of(const char *path)
{
	const char *end = strrchr(path, '/');
	const char *start = end;
	while (start && start > path && start[-1] != '/')
		start--;
	return end ? strndup(start, (size_t)(end - start)) : strdup("");
}

static int print_result(cli_ctx *cli, const char *path, sv_arch arch)
{
	if (!cli->json) {
		printf("%s\n", path);
		return CLI_EXIT_OK;
	}
	char *tag = tag_of(path);
	char *jailer = strdup(path);
	char *slash = jailer ? strrchr(jailer, '/') : NULL;
	json_t *o = NULL;
	if (slash) {
		strcpy(slash + 1, "jailer"); /* "firecracker" is longer: it fits */
		o = json_pack("{s:s, s:s, s:s, s:s}", "path", path, "jailer", jailer, "version",
			      tag ? tag : "", "arch", sv_arch_name(arch));
	}
	char *text = o ? json_dumps(o, JSON_PRESERVE_ORDER) : NULL;
	int code = text ? cli_print_json_text(text) : cli_error(CLI_EXIT_FAILURE, "out of memory");
	free(text);
	json_decref(o);
	free(tag);
	free(jailer);
	return code;
}

static int binary_ensure(cli_ctx *cli, int argc, char **argv)
{
	sv_binary_options o = {.version = SV_BINARY_OPTIONS_VERSION, .data_dir = cli->data_dir};
	cli_opts p;
	int c, code = 0;
	cli_opts_begin(&p, cli, argc, argv, NULL, ensure_longopts);
	while (code == 0 && (c = cli_opts_next(&p)) > 0) {
		switch (c) {
		case OPT_VERSION:
			o.firecracker_version = p.optarg;
			break;
		case OPT_ARCH:
			if (sv_arch_parse(&o.arch, p.optarg) < 0)
				code = cli_usage_error(cli, "--arch: \"%s\" is not x86_64 or aarch64", p.optarg);
			break;
		}
	}
	if (code)
		return code;
	if (c == CLI_OPTS_EXIT)
		return p.exit_code;
	if ((code = cli_no_args(&p)))
		return code;
	o.data_dir = cli->data_dir; /* --data-dir may follow the subcommand */
	o.download = cli_download_options(cli);
	char *path = NULL;
	int rc = sv_ensure_binary(&path, &o);
	if (rc < 0)
		return cli_fail(rc);
	code = print_result(cli, path, o.arch);
	free(path);
	return code;
}

static int cmd_binary(cli_ctx *cli, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "ensure") == 0)
		return binary_ensure(cli, argc - 1, argv + 1);
	/* No subcommand: still honour --help and the global options. */
	return cli_no_subcommand(cli, argc, argv);
}

const cli_command cli_binary_commands[] = {
	{
		.name = "binary",
		.summary = "Get a verified Firecracker binary",
		.usage = "ensure [--version V] [--arch A] [--json]",
		.help = "ensure: makes sure the Firecracker binary (and its jailer) of the\n"
			"version is installed under <data-dir>/bin/<version>/ and prints the\n"
			"firecracker path. A missing version is downloaded from the releases\n"
			"page, verified against its published SHA-256 and installed atomically;\n"
			"a cached one needs no network.\n"
			"\n"
			"Options:\n"
			"  --version V   \"latest\" (default: the release /releases/latest\n"
			"                redirects to) or an exact tag such as v1.7.0\n"
			"  --arch A      x86_64 (default) or aarch64\n"
			"  --json        print {path, jailer, version, arch}\n"
			"\n"
			"Environment: SMARTVM_RELEASES_URL overrides the releases page\n"
			"(default https://github.com/firecracker-microvm/firecracker/releases).\n"
			"\n"
			"Exits 1 if the download or verification fails.\n",
		.handler = cmd_binary,
	},
	{0},
};
