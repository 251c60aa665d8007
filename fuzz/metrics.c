/* Fuzzes the metrics file reader behind `smartvm metrics` (src/vm/vm_live.c):
 * the VMM writes the file, into a directory a jailed VMM owns. Oracle: a
 * successful read with flushes yields an object that serialises. */
#include "fuzz.h"

#include "vm/vm_metrics_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *latest = NULL;
	size_t count = 0;
	if (sv_vm__parse_metrics("/fuzz/metrics.json", (const char *)data, size, &latest, &count) == 0) {
		FZ_CHECK((count == 0) == (latest == NULL));
		if (latest) {
			FZ_CHECK(json_is_object(latest));
			char *text = json_dumps(latest, JSON_COMPACT | JSON_PRESERVE_ORDER);
			FZ_CHECK(text);
			free(text);
		}
	} else {
		FZ_CHECK(latest == NULL);
	}
	json_decref(latest);
	return 0;
}
