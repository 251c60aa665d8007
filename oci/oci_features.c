/* `features`: what this runtime implements (the spec's features.md), fixed
 * at build time. Hooks and mount options are empty: phase 1 runs no hooks
 * and does not apply config.json's mounts (the guest's init mounts proc,
 * sysfs, devtmpfs and devpts itself). */
#include "oci_commands.h"

#include "oci_bundle.h"
#include "oci_log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

int oci_cmd_features(const oci_globals *g, int argc, char **argv)
{
	(void)g, (void)argv;
	if (argc > 1)
		return oci_log_error("usage: smartvm-oci features");
	json_t *o =
	    json_pack("{s:s, s:s, s:[], s:[], s:{s:s, s:s, s:s}}", "ociVersionMin", "1.0.0", "ociVersionMax",
		      "1.2.1", "hooks", "mountOptions", "annotations", OCI_ANNOTATION_VCPUS,
		      "vCPUs of the container's VM (default 1)", OCI_ANNOTATION_MEM,
		      "memory of the container's VM in MiB (default 256)", OCI_ANNOTATION_IMAGE,
		      "the base image whose kernel and initrd boot it (default minimal)");
	char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
	json_decref(o);
	if (!text)
		return oci_log_error("out of memory");
	printf("%s\n", text);
	free(text);
	return 0;
}
