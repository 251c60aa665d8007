/* Fuzzes smartvm-oci's config.json parser (oci/oci_bundle.c): the engine
 * writes the file, but its fields come from images and users. Oracles: a
 * parse that succeeds gives what the runtime relies on (a non-empty
 * args[0], an absolute cwd and root, VM sizes in range, annotations as a
 * JSON object); one that fails names config.json and leaves nothing. The
 * same for exec --process's process object (oci_process_parse). */
#include "fuzz.h"

#include "oci_bundle.h"
#include <jansson.h>
#include <smartvm/error.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_cstr(data, size);
	oci_bundle b;
	if (oci_bundle_parse(&b, "/fuzz/bundle", text) == 0) {
		FZ_CHECK(b.args && b.args[0] && b.args[0][0]);
		FZ_CHECK(b.env);
		FZ_CHECK(b.cwd && b.cwd[0] == '/');
		FZ_CHECK(b.root_path && b.root_path[0] == '/');
		FZ_CHECK(b.vcpus >= 1 && b.vcpus <= 32);
		FZ_CHECK(b.mem_mib >= 64);
		FZ_CHECK(b.image && b.image[0]);
		FZ_CHECK(b.n_groups == 0 || b.groups);
		json_t *ann = json_loads(b.annotations_json, 0, NULL);
		FZ_CHECK(json_is_object(ann));
		json_decref(ann);
		oci_bundle_free(&b);
	} else {
		FZ_CHECK(strncmp(sv_last_error(), "config.json: ", 13) == 0);
		FZ_CHECK(b.args == NULL && b.bundle_dir == NULL);
	}
	/* The same text as exec --process's file: a process object alone. */
	if (oci_process_parse(&b, "p.json", text) == 0) {
		FZ_CHECK(b.args && b.args[0] && b.args[0][0]);
		FZ_CHECK(b.env);
		FZ_CHECK(b.cwd && b.cwd[0] == '/');
		FZ_CHECK(b.root_path == NULL && b.annotations_json == NULL);
		oci_bundle_free(&b);
	} else {
		FZ_CHECK(strncmp(sv_last_error(), "p.json: ", 8) == 0);
		FZ_CHECK(b.args == NULL && b.env == NULL && b.cwd == NULL);
	}
	free(text);
	return 0;
}
