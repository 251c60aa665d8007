/* Fuzzes the reading and checking of a snapshot's manifest, snapshot.json
 * (src/vm/vm_snapshot.c): a snapshot directory may come from anywhere. The
 * input is snapshot.json in a directory that also holds a state file, a
 * memory file and a drive copy; what passes the check then has its VM config
 * read as a restore reads it. Oracle: a manifest that passes names a backend
 * and only files inside the snapshot directory. */
#include "fuzz.h"

#include "util/file.h"
#include "vm/vm_snapshot_check.h"
#include <smartvm/config.h>
#include <string.h>
#include <sys/stat.h>

static char *dir;

static void cleanup(void) { fz_rm_tmpdir(dir); }

static void put(const char *name, const char *text)
{
	free(fz_write(dir, name, (const uint8_t *)text, strlen(text)));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	dir = fz_tmpdir("snapshot");
	char *drives = sv_path_join(dir, "drives");
	FZ_CHECK(drives && mkdir(drives, 0700) == 0);
	free(drives);
	/* The seeds' checksums are of exactly these contents. */
	put("vmstate", "state\n");
	put("memory", "memory\n");
	put("drives/rootfs.ext4", "rootfs\n");
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	free(fz_write(dir, "snapshot.json", data, size));
	json_t *m = NULL;
	const sv_vmm_ops *backend = NULL;
	if (sv_vm__snapshot_check(dir, &m, &backend) == 0) {
		FZ_CHECK(m && backend);
		const char *name;
		json_t *v;
		json_object_foreach(json_object_get(m, "files"), name, v)
		{
			FZ_CHECK(name[0] != '/' && !strstr(name, ".."));
		}
		char *cfg_text = json_dumps(json_object_get(m, "config"), JSON_COMPACT);
		sv_vm_config *cfg = NULL;
		if (cfg_text && sv_vm_config_from_json(&cfg, cfg_text) == 0)
			sv_vm_config_validate(cfg);
		sv_vm_config_free(cfg);
		free(cfg_text);
	} else {
		FZ_CHECK(m == NULL);
	}
	json_decref(m);
	return 0;
}
