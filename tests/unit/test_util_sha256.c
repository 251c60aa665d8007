/* util/sha256 and util/timestamp: the one hasher and the one timestamp
 * format the library writes (bundles, cache records, snapshots). */
#include "svtest.h"

#include "util/sha256.h"
#include "util/timestamp.h"
#include <fcntl.h>
#include <regex.h>
#include <time.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* FIPS 180-2's "abc" vector. */
#define ABC_SHA256 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static int tmp_file_with(const char *content)
{
	char path[] = "/tmp/svtest-sha256.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	return fd;
}

static void test_fd_hash_is_of_the_whole_file_and_leaves_the_offset(void **state)
{
	(void)state;
	int fd = tmp_file_with("abc");
	/* The offset is at the end after the write: the hash still covers it all. */
	char hex[65];
	uint64_t size = 0;
	assert_int_equal(sv_sha256_fd(fd, "abc-file", hex, &size), 0);
	assert_string_equal(hex, ABC_SHA256);
	assert_int_equal(size, 3);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 3);
	close(fd);
}

static void test_streaming_and_fd_hash_agree(void **state)
{
	(void)state;
	sv_sha256 h;
	assert_int_equal(sv_sha256_init(&h), 0);
	sv_sha256_update(&h, "a", 1);
	sv_sha256_update(&h, "bc", 2);
	char hex[65];
	sv_sha256_final_hex(&h, hex);
	assert_string_equal(hex, ABC_SHA256);
	assert_true(sv_sha256_is_hex(hex));
	assert_false(sv_sha256_is_hex("abc"));
}

static void test_unreadable_fd_names_what_was_hashed(void **state)
{
	(void)state;
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	char hex[65];
	assert_int_equal(sv_sha256_fd(fd, "mem.snap", hex, NULL), SV_EIO);
	assert_string_equal(sv_last_error(), "reading mem.snap: Is a directory");
	close(fd);
}

static void test_timestamp_is_utc_with_milliseconds(void **state)
{
	(void)state;
	char now[SV_TIMESTAMP_LEN];
	time_t before = time(NULL);
	sv_utc_timestamp(now);
	time_t after = time(NULL);
	/* The fields read back (UTC) give a second of the call. */
	struct tm tm = {0};
	int ms = -1;
	assert_int_equal(sscanf(now, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
				&tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms),
			 7);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t stamped = timegm(&tm);
	assert_true(stamped >= before && stamped <= after);
	assert_true(ms >= 0 && ms <= 999);
	regex_t re;
	assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$",
				 REG_EXTENDED | REG_NOSUB),
			 0);
	assert_int_equal(regexec(&re, now, 0, NULL, 0), 0);
	regfree(&re);
}

/* glibc's gmtime_r, strftime and localtime parse TZ (or /etc/localtime) on
 * their first call and set tzname from it; before that tzname[0] is glibc's
 * "GMT". With TZ a rule of a zone named XYZ, a timestamp that loaded the
 * zone leaves "XYZ" there. First in main: nothing has loaded it yet. */
static void test_timestamp_never_loads_the_time_zone(void **state)
{
	(void)state;
	assert_int_equal(setenv("TZ", "XYZ5", 1), 0);
	if (strcmp(tzname[0], "GMT") != 0)
		fail_msg("the time zone was loaded before this test (tzname[0] \"%s\"): it cannot judge",
			 tzname[0]);
	char now[SV_TIMESTAMP_LEN];
	sv_utc_timestamp(now);
	assert_string_equal(tzname[0], "GMT");
	/* The check itself: a call that does load it is seen. */
	time_t t = 0;
	struct tm tm;
	gmtime_r(&t, &tm);
	assert_string_equal(tzname[0], "XYZ");
	unsetenv("TZ");
}

/* The hand-computed fields agree with the C library's for days around every
 * kind of boundary (month ends, leap days, century and 400-year leap rules)
 * from 1970 to the end of 9999, and for a sweep of a day every 3-and-a-bit weeks. */
static void test_timestamp_fields_agree_with_gmtime(void **state)
{
	(void)state;
	static const char *const dates[] = {"1970-01-01", "1972-02-29", "1999-12-31", "2000-02-29",
					    "2000-03-01", "2024-02-29", "2024-12-31", "2038-01-19",
					    "2100-02-28", "2100-03-01", "2400-02-29", "9999-12-30"};
	char got[SV_TIMESTAMP_LEN], want[96]; /* want: room for any int the compiler imagines */
	for (size_t i = 0; i < sizeof(dates) / sizeof(*dates); i++) {
		struct tm tm = {.tm_hour = 23, .tm_min = 59, .tm_sec = 59};
		assert_int_equal(sscanf(dates[i], "%d-%d-%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday), 3);
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		long long t = (long long)timegm(&tm);
		sv_utc_format(t, 7, got);
		snprintf(want, sizeof(want), "%sT23:59:59.007Z", dates[i]);
		assert_string_equal(got, want);
		sv_utc_format(t + 1, 0, got); /* the next day's first second */
		struct tm next;
		time_t tn = (time_t)(t + 1);
		gmtime_r(&tn, &next);
		snprintf(want, sizeof(want), "%04d-%02d-%02dT00:00:00.000Z", next.tm_year + 1900,
			 next.tm_mon + 1, next.tm_mday);
		assert_string_equal(got, want);
	}
	for (long long t = 0; t < 253402300800LL; t += 1987654321LL / 1000) {
		time_t tt = (time_t)t;
		struct tm g;
		gmtime_r(&tt, &g);
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.999Z", g.tm_year + 1900,
			 g.tm_mon + 1, g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec);
		sv_utc_format(t, 999, got);
		assert_string_equal(got, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_timestamp_never_loads_the_time_zone),
	    cmocka_unit_test(test_timestamp_fields_agree_with_gmtime),
	    cmocka_unit_test(test_fd_hash_is_of_the_whole_file_and_leaves_the_offset),
	    cmocka_unit_test(test_streaming_and_fd_hash_agree),
	    cmocka_unit_test(test_unreadable_fd_names_what_was_hashed),
	    cmocka_unit_test(test_timestamp_is_utc_with_milliseconds),
	};
	return svt_run_group(tests, NULL, NULL);
}
