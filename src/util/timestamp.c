/* The timestamp format (see timestamp.h). */
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
	char date[24];
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, SV_TIMESTAMP_LEN, "%s.%03dZ", date, (int)(tv.tv_usec / 1000));
}
