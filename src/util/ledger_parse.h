/* The ledger's line parser (see ledger.h for the format), apart from the
 * replay that acts on what it reads, so that its fuzz harness (fuzz/ledger.c)
 * can call it. Internal. */
#ifndef SV_UTIL_LEDGER_PARSE_H
#define SV_UTIL_LEDGER_PARSE_H

#include <stdbool.h>

/* Splits one line (without its newline) in place into the kind and its
 * percent-decoded arguments (*arg2 NULL when absent). False when the line
 * has no kind or no argument. */
bool sv_ledger_parse_line(char *line, char **kind, char **arg1, char **arg2);

#endif
