/* `smartvm image build-minimal`: the subcommand cmd_image.c dispatches to. */
#ifndef SMARTVM_CLI_CMD_IMAGE_MINIMAL_H
#define SMARTVM_CLI_CMD_IMAGE_MINIMAL_H

#include "cli.h"

#define CLI_IMAGE_MINIMAL_USAGE "build-minimal [--cache-dir DIR] [--json]"

#define CLI_IMAGE_MINIMAL_HELP                                                                               \
	"build-minimal: builds the minimal guest image offline (the Debian cloud\n"                          \
	"kernel fetched with apt-get download, busybox-static, smartvm's own init;\n"                        \
	"never installs anything on the host) and imports it as the cached bundle\n"                         \
	"\"minimal\", so that 'smartvm run --image minimal -- CMD' runs CMD in a VM.\n"                      \
	"A second run reuses what did not change. Prints the bundle's id and\n"                              \
	"directory.\n"                                                                                       \
	"  --cache-dir DIR     where the builder keeps its downloads and the built\n"                        \
	"                      files (default <data-dir>/minimal-image)\n"                                   \
	"  --json              print the bundle (bundle.json)\n"

/* argv[0] is "build-minimal". Returns an exit code. */
int cli_image_build_minimal(cli_ctx *cli, int argc, char **argv);

#endif
