/* `smartvm image pull|ls|rm`: the base-image cache from the command line (the
 * seed's ensureBaseImage and the cache around it). All the work is the
 * library's (include/smartvm/images.h); this file parses flags and prints. */
#include "cli.h"
#include "cmd_image_minimal.h"

#include <smartvm/images.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_PRESET = CLI_OPT_LONG_BASE,
	OPT_MANIFEST_URL,
	OPT_MANIFEST,
	OPT_FORCE,
	OPT_ARCH,
};

static const struct option pull_longopts[] = {
    {"preset", required_argument, NULL, OPT_PRESET},
    {"manifest-url", required_argument, NULL, OPT_MANIFEST_URL},
    {"manifest", required_argument, NULL, OPT_MANIFEST},
    {"force", no_argument, NULL, OPT_FORCE},
    {"arch", required_argument, NULL, OPT_ARCH},
    {0},
};

static sv_base_image_options cache_options(cli_ctx *cli)
{
	return (sv_base_image_options){
	    .version = SV_BASE_IMAGE_OPTIONS_VERSION,
	    .data_dir = cli->data_dir,
	    .runtime_dir = cli->runtime_dir,
	    .cache_dir = cli->opts.base_image_cache_dir,
	    .max_stored_base_images = cli->opts.max_stored_base_images,
	    .download = cli_download_options(cli),
	};
}

static int print_bundle_json(const sv_base_image_bundle *b)
{
	char *json = NULL;
	int rc = sv_base_image_bundle_to_json(&json, b);
	if (rc < 0)
		return cli_fail(rc);
	int code = cli_print_json_snake(json);
	free(json);
	return code;
}

static int image_pull(cli_ctx *cli, int argc, char **argv)
{
	sv_ensure_base_image_opts e = SV_ENSURE_BASE_IMAGE_OPTS_INIT;
	cli_opts p;
	int c, code = 0;
	cli_opts_begin(&p, cli, argc, argv, NULL, pull_longopts);
	while (code == 0 && (c = cli_opts_next(&p)) > 0) {
		switch (c) {
		case OPT_PRESET:
			if (sv_base_image_preset_parse(&e.preset, p.optarg) < 0)
				code = cli_usage_error(cli, "--preset: \"%s\" is not latest, lts or hosted",
						       p.optarg);
			break;
		case OPT_MANIFEST_URL:
			e.manifest_url = p.optarg;
			break;
		case OPT_MANIFEST:
			e.manifest_path = p.optarg;
			break;
		case OPT_FORCE:
			e.force_download = true;
			break;
		case OPT_ARCH:
			e.override_arch = true;
			if (sv_arch_parse(&e.arch, p.optarg) < 0)
				code =
				    cli_usage_error(cli, "--arch: \"%s\" is not x86_64 or aarch64", p.optarg);
			break;
		}
	}
	if (code)
		return code;
	if (c == CLI_OPTS_EXIT)
		return p.exit_code;
	if ((code = cli_no_args(&p)))
		return code;
	if (e.manifest_url && e.manifest_path)
		return cli_usage_error(cli, "--manifest-url and --manifest are mutually exclusive");
	sv_base_image_options o = cache_options(cli);
	sv_base_image_bundle *b = NULL;
	int rc = sv_ensure_base_image(&b, &o, &e);
	if (rc < 0)
		return cli_fail(rc);
	if (cli->json)
		code = print_bundle_json(b);
	else
		printf("%s\t%s\n", b->bundle_id, b->bundle_dir);
	sv_base_image_bundle_free(b);
	return code;
}

static int print_list_json(sv_base_image_bundle **all, size_t n)
{
	size_t cap = 3, len = 1;
	char *text = malloc(cap);
	int code = CLI_EXIT_OK;
	if (!text)
		return cli_error(CLI_EXIT_FAILURE, "out of memory");
	text[0] = '[';
	for (size_t i = 0; i < n && code == CLI_EXIT_OK; i++) {
		char *one = NULL;
		/* The text's order: most recently used first. */
		int rc = sv_base_image_bundle_to_json(&one, all[n - 1 - i]);
		if (rc < 0) {
			code = cli_fail(rc);
			break;
		}
		size_t need = len + strlen(one) + 3;
		char *grown = need > cap ? realloc(text, cap = need * 2) : text;
		if (!grown) {
			free(one);
			code = cli_error(CLI_EXIT_FAILURE, "out of memory");
			break;
		}
		text = grown;
		if (i)
			text[len++] = ',';
		memcpy(text + len, one, strlen(one));
		len += strlen(one);
		free(one);
	}
	if (code == CLI_EXIT_OK) {
		text[len++] = ']';
		text[len] = '\0';
		code = cli_print_json_snake(text);
	}
	free(text);
	return code;
}

static int image_ls(cli_ctx *cli, int argc, char **argv)
{
	cli_opts p;
	int c;
	cli_opts_begin(&p, cli, argc, argv, NULL, NULL);
	while ((c = cli_opts_next(&p)) > 0)
		;
	if (c == CLI_OPTS_EXIT)
		return p.exit_code;
	int code = cli_no_args(&p);
	if (code)
		return code;
	sv_base_image_options o = cache_options(cli);
	sv_base_image_bundle **all = NULL;
	size_t n = 0;
	int rc = sv_base_image_list(&all, &n, &o);
	if (rc < 0)
		return cli_fail(rc);
	if (cli->json) {
		code = print_list_json(all, n);
	} else {
		printf("%-48s %-7s %-9s %-8s %10s  %s\n", "BUNDLE ID", "PRESET", "FC", "ROOTFS", "MIB",
		       "LAST USED");
		for (size_t i = n; i-- > 0;) { /* most recently used first */
			const sv_base_image_bundle *b = all[i];
			double mib =
			    (double)(b->kernel_bytes + b->rootfs_bytes + b->initrd_bytes) /
			    (1024.0 * 1024.0);
			printf("%-48s %-7s %-9s %-8s %10.1f  %s\n", b->bundle_id,
			       sv_base_image_preset_name(b->preset), b->firecracker_version,
			       sv_rootfs_type_name(b->rootfs_type), mib, b->last_accessed_at);
		}
	}
	sv_base_image_bundles_free(all, n);
	return code;
}

static int image_rm(cli_ctx *cli, int argc, char **argv)
{
	cli_opts p;
	int c;
	cli_opts_begin(&p, cli, argc, argv, NULL, NULL);
	while ((c = cli_opts_next(&p)) > 0)
		;
	if (c == CLI_OPTS_EXIT)
		return p.exit_code;
	const char *id = NULL;
	int code = cli_one_arg(&p, "BUNDLE_ID", &id);
	if (code)
		return code;
	sv_base_image_options o = cache_options(cli);
	int rc = sv_base_image_remove(&o, id);
	if (rc < 0)
		return cli_fail(rc);
	return CLI_EXIT_OK;
}

static int cmd_image(cli_ctx *cli, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(cli_ctx *, int, char **);
	} subs[] = {{"pull", image_pull},
		    {"ls", image_ls},
		    {"rm", image_rm},
		    {"build-minimal", cli_image_build_minimal}};
	for (size_t i = 0; argc >= 2 && i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].run(cli, argc - 1, argv + 1);
	/* No (known) subcommand: still honour --help and the global options. */
	return cli_no_subcommand(cli, argc, argv);
}

const cli_command cli_image_commands[] = {
    {
	.name = "image",
	.summary = "Pull, list and remove base images (kernel + rootfs bundles)",
	.usage = "pull [--preset latest|lts|hosted] [--manifest-url URL | --manifest PATH]\n"
		 " [--arch A] [--force] [--json]\n"
		 "ls [--json]\n"
		 "rm BUNDLE_ID\n" CLI_IMAGE_MINIMAL_USAGE,
	.help = "pull: resolves a base-image bundle (kernel, root filesystem, boot\n"
		"arguments), downloads and verifies it into <data-dir>/base-images/\n"
		"<bundle-id>/ unless it is cached, and prints its id and directory. At\n"
		"most 2 bundles are kept: the least recently used one that no running\n"
		"VM uses is evicted, with a warning.\n"
		"  --preset P          latest (default): Firecracker CI images of the\n"
		"                      latest release; lts: CI v1.7 (Firecracker v1.7.0);\n"
		"                      hosted: needs --manifest-url or --manifest\n"
		"  --manifest-url URL  a hosted manifest (schemaVersion 1); overrides\n"
		"                      the preset. Its artifacts are http(s) URLs, relative\n"
		"                      ones resolved against URL, each with a sha256;\n"
		"                      a \"path\" is refused\n"
		"  --manifest PATH     a local hosted manifest; overrides the preset. Its\n"
		"                      artifacts may also be \"path\"s: absolute or relative\n"
		"                      to PATH's directory, regular files only; a cached\n"
		"                      copy is never more readable than its source\n"
		"  --arch A            x86_64 (default) or aarch64\n"
		"  --force             download again even if cached\n"
		"  --json              print the bundle: bundle.json's fields with\n"
		"                      snake_case keys, like every --json output\n"
		"Every artifact is capped at its sizeBytes (else 4 GiB) and every\n"
		"download must finish within 30 minutes, retries included.\n"
		"\n"
		"ls: lists cached bundles, most recently used first (--json: an array\n"
		"of bundles in the same order).\n"
		"\n"
		"rm BUNDLE_ID: removes a cached bundle; refused while a running VM uses it.\n"
		"\n" CLI_IMAGE_MINIMAL_HELP "\n"
		"Boot one with 'smartvm run --image BUNDLE_ID'.\n"
		"\n"
		"Environment: SMARTVM_RELEASES_URL and SMARTVM_CI_BUCKET_URL override the\n"
		"releases page and the CI bucket (default\n"
		"https://s3.amazonaws.com/spec.ccfc.min).\n"
		"\n"
		"Exits 2 for an invalid manifest, 1 if resolving, downloading or\n"
		"verifying fails, or the bundle to remove is unknown or in use.\n",
	.handler = cmd_image,
    },
    {0},
};
