/* Fuzzes the ledger's line parser (src/util/ledger.c): gc replays ledgers
 * after crashes, so a ledger may be torn or damaged. The input is split into
 * lines as the replay does. Oracles: a well-formed entry has a kind and at
 * most SV_LEDGER_MAX_ARGS arguments, none containing the separator the
 * parser split on; the raw line is kept exactly. */
#include "fuzz.h"

#include "util/ledger_parse.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_cstr(data, size);
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		sv_ledger_entry e;
		if (sv_ledger_parse_entry(&e, line) != 0)
			continue;
		FZ_CHECK(!strcmp(e.raw, line));
		FZ_CHECK(e.n_args >= -1 && e.n_args <= SV_LEDGER_MAX_ARGS);
		if (e.n_args >= 0)
			FZ_CHECK(*e.kind && !strchr(e.kind, ' '));
		sv_ledger_entry_free(&e);
	}
	free(text);
	return 0;
}
