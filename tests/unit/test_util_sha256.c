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
	assert_int_equal(sscanf(now, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
				&tm.tm_min, &tm.tm_sec, &ms),
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fd_hash_is_of_the_whole_file_and_leaves_the_offset),
	    cmocka_unit_test(test_streaming_and_fd_hash_agree),
	    cmocka_unit_test(test_unreadable_fd_names_what_was_hashed),
	    cmocka_unit_test(test_timestamp_is_utc_with_milliseconds),
	};
	return svt_run_group(tests, NULL, NULL);
}
