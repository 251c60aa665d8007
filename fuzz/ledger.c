/* Fuzzes the ledger's line parser (src/util/ledger.c): gc replays ledgers
 * after crashes, so a ledger may be torn or damaged. The input is split into
 * lines as the replay does. Oracle: a parsed entry has a kind and a first
 * argument, neither containing the separator the parser split on. */
#include "fuzz.h"

#include "util/ledger_parse.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_cstr(data, size);
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *kind, *arg1, *arg2;
		if (!sv_ledger_parse_line(line, &kind, &arg1, &arg2))
			continue;
		FZ_CHECK(*kind && !strchr(kind, ' '));
		FZ_CHECK(arg1 != NULL);
	}
	free(text);
	return 0;
}
