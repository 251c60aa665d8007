/* Percent-encoding of one field of a space-separated record line (ledger
 * entries, lease records), so paths with spaces, '%' or newlines survive. */
#ifndef SV_UTIL_PCT_H
#define SV_UTIL_PCT_H

/* Encodes every byte <= ' ', '%' and DEL as %XX. malloc'd; NULL on OOM. */
char *sv_pct_encode(const char *s);

/* Decodes %XX in place. */
void sv_pct_decode(char *s);

#endif
