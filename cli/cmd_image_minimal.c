/* `smartvm image build-minimal` (see cmd_image_minimal.h): flags and output
 * around sv_minimal_image_build, which runs the builder program and imports
 * its manifest into the base-image cache. */
#include "cmd_image_minimal.h"

#include <smartvm/minimal_image.h>
#include <stdio.h>
#include <stdlib.h>

enum { OPT_CACHE_DIR = CLI_OPT_LONG_BASE };

static const struct option minimal_longopts[] = {
    {"cache-dir", required_argument, NULL, OPT_CACHE_DIR},
    {0},
};

int cli_image_build_minimal(cli_ctx *cli, int argc, char **argv)
{
	sv_minimal_image_options mo = SV_MINIMAL_IMAGE_OPTIONS_INIT;
	cli_opts p;
	int c;
	cli_opts_begin(&p, cli, argc, argv, NULL, minimal_longopts);
	while ((c = cli_opts_next(&p)) > 0)
		if (c == OPT_CACHE_DIR)
			mo.cache_dir = p.optarg;
	if (c == CLI_OPTS_EXIT)
		return p.exit_code;
	int code = cli_no_args(&p);
	if (code)
		return code;

	sv_base_image_options o = {
	    .version = SV_BASE_IMAGE_OPTIONS_VERSION,
	    .data_dir = cli->data_dir,
	    .runtime_dir = cli->runtime_dir,
	    .cache_dir = cli->opts.base_image_cache_dir,
	    .max_stored_base_images = cli->opts.max_stored_base_images,
	    .download = cli_download_options(cli),
	};
	fprintf(stderr, "smartvm: building the minimal image (Debian cloud kernel, busybox, smartvm-init)\n");
	sv_base_image_bundle *b = NULL;
	int rc = sv_minimal_image_build(&b, &mo, &o);
	if (rc < 0)
		return cli_fail(rc);
	if (cli->json) {
		char *json = NULL;
		rc = sv_base_image_bundle_to_json(&json, b);
		code = rc < 0 ? cli_fail(rc) : cli_print_json_snake(json);
		free(json);
	} else {
		printf("%s\t%s\n", b->bundle_id, b->bundle_dir);
	}
	sv_base_image_bundle_free(b);
	return code;
}
