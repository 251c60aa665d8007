/* Fuzzes the metrics file reader behind `smartvm metrics` (src/vm/vm_metrics.c):
 * the VMM writes the file, into a directory a jailed VMM owns. The input is
 * read both as a whole file and as a window into its end. Oracles: a success
 * yields NULL or an object that serialises; a failure yields NULL. */
#include "fuzz.h"

#include "vm/vm_metrics.h"

static void read_as(const uint8_t *data, size_t size, bool at_file_start)
{
	json_t *latest = NULL;
	if (sv_metrics_last_flush((const char *)data, size, at_file_start, "/fuzz/metrics.json", &latest) == 0) {
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
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	read_as(data, size, true);
	read_as(data, size, false);
	return 0;
}
