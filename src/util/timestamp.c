/* The timestamp format (see timestamp.h). The fields are printed by hand:
 * strftime loads the time zone (/etc/localtime) on its first call, which a
 * UTC timestamp never needs and every supervisor would pay once. */
#include "util/timestamp.h"

#include <stdio.h>
#include <sys/time.h>
#include <time.h>

void sv_utc_timestamp(char buf[SV_TIMESTAMP_LEN])
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	/* The remainders bound each field's width (for the compiler too). */
	snprintf(buf, SV_TIMESTAMP_LEN, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", (unsigned)(tm.tm_year + 1900) % 10000u,
		 (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u,
		 (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u, (unsigned)(tv.tv_usec / 1000) % 1000u);
}
