/* The one timestamp format smartvm writes into its files (bundle.json,
 * snapshot.json, cache records): ISO 8601 UTC with milliseconds, as
 * JavaScript's toISOString, e.g. "2025-01-31T12:00:00.000Z". */
#ifndef SV_UTIL_TIMESTAMP_H
#define SV_UTIL_TIMESTAMP_H

#define SV_TIMESTAMP_LEN 32

/* Now, into buf. Never loads the time zone (no /etc/localtime). */
void sv_utc_timestamp(char buf[SV_TIMESTAMP_LEN]);
/* The instant `seconds` since the epoch plus ms (0-999), into buf; years
 * 0 to 9999 (later ones are printed modulo 10000). */
void sv_utc_format(long long seconds, unsigned ms, char buf[SV_TIMESTAMP_LEN]);

#endif
