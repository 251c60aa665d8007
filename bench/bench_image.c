/* The minimal image for the real-VM benchmarks (bench_image.h): the one the
 * tests use, built on first use. */
#include "bench_image.h"

#include "bench.h"
#include "util/spawn.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *manifest_path(json_t *m, const char *key)
{
	const char *p = json_string_value(json_object_get(json_object_get(m, key), "path"));
	return p ? strdup(p) : NULL;
}

void bench_image_free(bench_image *im)
{
	free(im->kernel);
	free(im->initrd);
	free(im->rootfs);
	free(im->boot_args);
}

const char *bench_image_get(bench_image *im)
{
	static char why[1024];
	const char *dir = getenv("SMARTVM_TEST_IMAGE_DIR");
	if (!dir || !*dir)
		dir = "/var/tmp/smartvm-test-images";
	const char *argv[] = {BENCH_BUILD_ROOT "/tools/smartvm-build-minimal-image",
			      "--init",
			      BENCH_BUILD_ROOT "/guest/smartvm-init",
			      "--cache-dir",
			      dir,
			      NULL};
	int code = -1;
	char *out = NULL, *err = NULL;
	int rc = sv_run(argv, NULL, 600000, &code, &out, &err);
	if (rc || code != 0) {
		snprintf(why, sizeof(why), "building the minimal image failed: %s",
			 rc    ? sv_last_error()
			 : err ? err
			       : "");
		free(out);
		free(err);
		return why;
	}
	out[strcspn(out, "\n")] = '\0';
	json_t *m = json_load_file(out, 0, NULL);
	free(out);
	free(err);
	const char *args = json_string_value(json_object_get(m, "bootArgs"));
	im->kernel = manifest_path(m, "kernel");
	im->initrd = manifest_path(m, "initrd");
	im->rootfs = manifest_path(m, "rootfs");
	im->boot_args = args ? strdup(args) : NULL;
	json_decref(m);
	if (!im->kernel || !im->initrd || !im->rootfs || !im->boot_args) {
		snprintf(why, sizeof(why), "the minimal image's manifest is incomplete");
		return why;
	}
	return NULL;
}
