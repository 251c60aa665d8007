/* The ledger's line parser (see ledger.h for the format), apart from the
 * replay that acts on what it reads, so that its fuzz harness (fuzz/ledger.c)
 * can call it. Internal. */
#ifndef SV_UTIL_LEDGER_PARSE_H
#define SV_UTIL_LEDGER_PARSE_H

#include <stdbool.h>

#define SV_LEDGER_MAX_ARGS 4

typedef struct {
	char *raw;  /* the line as written, for keeping it */
	char *copy; /* kind and args point into it, decoded */
	const char *kind;
	char *args[SV_LEDGER_MAX_ARGS];
	int n_args; /* -1: malformed (no kind, or too many arguments) */
	bool keep;  /* the replay keeps it for the next one */
} sv_ledger_entry;

/* Splits one line (without its newline) into its kind and percent-decoded
 * arguments. 0, or SV_ENOMEM; a malformed line is an entry with n_args -1
 * (the replay keeps and reports it). Free with sv_ledger_entry_free. */
int sv_ledger_parse_entry(sv_ledger_entry *e, const char *line);
void sv_ledger_entry_free(sv_ledger_entry *e);

#endif
