/* Fuzzes the hosted base-image manifest parser (src/images/manifest.c): a
 * remote manifest is written by whoever serves it. Oracles: a parsed
 * manifest has a valid bundle id, and no artifact's file name can leave the
 * bundle directory. */
#include "fuzz.h"

#include "images/manifest.h"
#include <string.h>

static void check_artifact(const sv_manifest_artifact *a)
{
	if (!a->file_name)
		return;
	FZ_CHECK(a->file_name[0] != '\0');
	FZ_CHECK(strchr(a->file_name, '/') == NULL);
	FZ_CHECK(strcmp(a->file_name, ".") != 0 && strcmp(a->file_name, "..") != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_cstr(data, size);
	sv_hosted_manifest m;
	memset(&m, 0, sizeof(m));
	if (sv_manifest_parse(&m, text, "https://fuzz.invalid/manifest.json") == 0) {
		FZ_CHECK(sv_bundle_id_valid(m.bundle_id));
		check_artifact(&m.kernel);
		check_artifact(&m.rootfs);
		if (m.has_initrd)
			check_artifact(&m.initrd);
	}
	sv_manifest_clear(&m);
	free(text);
	return 0;
}
