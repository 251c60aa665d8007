/* The timestamp format (see timestamp.h). The fields are computed and printed
 * by hand: glibc's gmtime_r, like strftime and localtime, loads the time zone
 * (opens and parses /etc/localtime, or whatever TZ names) on its first call,
 * which a UTC timestamp never needs and every supervisor would pay once. */
#include "util/timestamp.h"

#include <stdio.h>
#include <sys/time.h>

/* The proleptic Gregorian date of a day counted from 1970-01-01, by whole
 * 400-year eras (146097 days each) counted from 0000-03-01, so that a leap
 * day is the last day of its year. */
static void civil_date(long long days, long long *year, unsigned *month, unsigned *day)
{
	days += 719468; /* from 0000-03-01 */
	long long era = (days >= 0 ? days : days - 146096) / 146097;
	unsigned doe = (unsigned)(days - era * 146097);			      /* [0, 146096] */
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);		      /* [0, 365], from March */
	unsigned mp = (5 * doy + 2) / 153;				      /* [0, 11], March = 0 */
	*day = doy - (153 * mp + 2) / 5 + 1;
	*month = mp < 10 ? mp + 3 : mp - 9;
	*year = (long long)yoe + era * 400 + (*month <= 2);
}

void sv_utc_format(long long seconds, unsigned ms, char buf[SV_TIMESTAMP_LEN])
{
	long long days = seconds / 86400, rest = seconds % 86400;
	if (rest < 0) {
		rest += 86400;
		days--;
	}
	long long year;
	unsigned month, day;
	civil_date(days, &year, &month, &day);
	unsigned s = (unsigned)rest;
	/* The remainders bound each field's width (for the compiler too). */
	snprintf(buf, SV_TIMESTAMP_LEN, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", (unsigned)(year % 10000),
		 month % 100u, day % 100u, s / 3600 % 100u, s / 60 % 60u, s % 60u, ms % 1000u);
}

void sv_utc_timestamp(char buf[SV_TIMESTAMP_LEN])
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	sv_utc_format((long long)tv.tv_sec, (unsigned)(tv.tv_usec / 1000), buf);
}
