/* Fuzzes snapshot.json's parser (src/vm/vm_snapshot_manifest.c): a snapshot
 * directory may come from anywhere its owner copied it from. What passes is
 * then read as a restore reads it: its VM config parsed and validated.
 * Oracles: a manifest that passes names only plain relative files, drive
 * files only under drives/, and sizes for exactly its files. */
#include "fuzz.h"

#include "vm/vm_snapshot_manifest.h"
#include <smartvm/config.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *m = NULL;
	if (sv_snapshot_manifest_parse((const char *)data, size, "/fuzz/snapshot.json", &m) == 0) {
		FZ_CHECK(m);
		json_t *files = json_object_get(m, "files"), *sizes = json_object_get(m, "sizes");
		FZ_CHECK(json_object_get(files, SV_SNAPSHOT_STATE_FILE));
		const char *name;
		json_t *v;
		json_object_foreach(files, name, v)
		{
			FZ_CHECK(sv_snapshot_is_plain_relative(name));
			FZ_CHECK(json_object_get(sizes, name));
		}
		size_t i;
		json_array_foreach(json_object_get(m, "drives"), i, v)
		{
			const char *file = json_string_value(json_object_get(v, "file"));
			FZ_CHECK(!file || sv_snapshot_is_drive_file(file));
		}
		char *cfg_text = json_dumps(json_object_get(m, "config"), JSON_COMPACT);
		sv_vm_config *cfg = NULL;
		if (cfg_text && sv_vm_config_from_json(&cfg, SV_VM_CONFIG_VERSION, cfg_text) == 0)
			sv_vm_config_validate(cfg);
		sv_vm_config_free(cfg);
		free(cfg_text);
	} else {
		FZ_CHECK(m == NULL);
	}
	json_decref(m);
	return 0;
}
