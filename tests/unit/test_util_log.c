/* The log callback (smartvm/log.h): severity filtering, the caller's error
 * kept across a delivery, parsing level names, and replacing the callback
 * while other threads log. */
#include "svtest.h"

#include "imagesfixture.h"
#include "logcapture.h"
#include "util/error.h"
#include "util/log.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void test_messages_beyond_the_chosen_severity_are_dropped(void **state)
{
	(void)state;
	svt_log_begin(SV_LOG_WARN);
	sv_log(SV_LOG_ERROR, "e %d", 1);
	sv_warn("w %s", "two");
	sv_info("dropped");
	sv_debug("dropped");
	char *log = svt_log_end();
	assert_string_equal(log, "error: e 1\nwarning: w two\n");
	free(log);
}

static void test_without_a_callback_nothing_is_delivered(void **state)
{
	(void)state;
	svt_log_begin(SV_LOG_DEBUG);
	free(svt_log_end());
	sv_warn("nobody listens"); /* must not crash or print */
	svt_stderr_begin();
	sv_log(SV_LOG_ERROR, "still nobody");
	char *err = svt_stderr_end();
	assert_string_equal(err, "");
	free(err);
}

static void test_long_messages_arrive_whole(void **state)
{
	(void)state;
	char big[3000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	svt_log_begin(SV_LOG_DEBUG);
	sv_warn("%s!", big);
	char *log = svt_log_end();
	assert_int_equal(strlen(log), strlen("warning: ") + strlen(big) + 2);
	free(log);
}

/* The callback calls into the library (which sets an error); the code that
 * logged still returns its own. */
static void calls_the_library(sv_log_severity s, const char *m, void *userdata)
{
	(void)s;
	(void)m;
	sv_log_severity parsed;
	*(int *)userdata = sv_log_severity_parse(&parsed, "nonsense");
}

static void test_a_delivery_keeps_the_callers_error(void **state)
{
	(void)state;
	int inner = 0;
	assert_int_equal(sv_set_log_callback(calls_the_library, &inner, SV_LOG_WARN), 0);
	sv_err(SV_ENOTFOUND, "the caller's error");
	sv_warn("about to fail");
	assert_int_equal(inner, SV_EINVAL);
	assert_int_equal(sv_last_error_code(), SV_ENOTFOUND);
	assert_string_equal(sv_last_error(), "the caller's error");
	assert_int_equal(sv_set_log_callback(NULL, NULL, SV_LOG_ERROR), 0);
}

static void test_severity_names_parse_and_print(void **state)
{
	(void)state;
	const char *names[] = {"error", "warning", "info", "debug"};
	for (int i = 0; i < 4; i++) {
		sv_log_severity s;
		assert_int_equal(sv_log_severity_parse(&s, names[i]), 0);
		assert_int_equal(s, i);
		assert_string_equal(sv_log_severity_name(s), names[i]);
	}
	sv_log_severity s;
	assert_int_equal(sv_log_severity_parse(&s, "warn"), 0);
	assert_int_equal(s, SV_LOG_WARN);
	assert_int_equal(sv_log_severity_parse(&s, "loud"), SV_EINVAL);
	assert_string_equal(sv_last_error(), "\"loud\" is not a log level (error, warning, info, debug)");
	assert_string_equal(sv_log_severity_name((sv_log_severity)9), "unknown");
}

static void test_an_invalid_max_severity_is_refused(void **state)
{
	(void)state;
	assert_int_equal(sv_set_log_callback(calls_the_library, NULL, (sv_log_severity)7), SV_EINVAL);
	assert_string_equal(sv_last_error(),
			    "log callback: max_severity 7 is not a severity (SV_LOG_ERROR to SV_LOG_DEBUG)");
}

/* ---- replacing the callback while other threads log ---- */

static atomic_int inside, calls;

static void slow_callback(sv_log_severity s, const char *m, void *userdata)
{
	(void)s;
	(void)m;
	(void)userdata;
	atomic_fetch_add(&inside, 1);
	atomic_fetch_add(&calls, 1);
	nanosleep(&(struct timespec){.tv_nsec = 200000}, NULL);
	atomic_fetch_sub(&inside, 1);
}

static atomic_bool stop;

static void *logger(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		sv_warn("from a thread");
	return NULL;
}

static void test_replacing_the_callback_waits_for_running_deliveries(void **state)
{
	(void)state;
	assert_int_equal(sv_set_log_callback(slow_callback, NULL, SV_LOG_WARN), 0);
	pthread_t threads[3];
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, logger, NULL), 0);
	for (int i = 0; i < 10; i++) {
		/* Wait (bounded) until deliveries are under way, then remove
		 * the callback: none may be running once that returns. */
		for (int spins = 0; atomic_load(&calls) < 3 * (i + 1) && spins < 10000; spins++)
			nanosleep(&(struct timespec){.tv_nsec = 100000}, NULL);
		assert_int_equal(sv_set_log_callback(NULL, NULL, SV_LOG_ERROR), 0);
		assert_int_equal(atomic_load(&inside), 0);
		int after = atomic_load(&calls);
		nanosleep(&(struct timespec){.tv_nsec = 2000000}, NULL);
		assert_int_equal(atomic_load(&calls), after);
		assert_int_equal(sv_set_log_callback(slow_callback, NULL, SV_LOG_WARN), 0);
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 3; i++)
		pthread_join(threads[i], NULL);
	assert_int_equal(sv_set_log_callback(NULL, NULL, SV_LOG_ERROR), 0);
	assert_true(atomic_load(&calls) >= 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_messages_beyond_the_chosen_severity_are_dropped),
	    cmocka_unit_test(test_without_a_callback_nothing_is_delivered),
	    cmocka_unit_test(test_long_messages_arrive_whole),
	    cmocka_unit_test(test_a_delivery_keeps_the_callers_error),
	    cmocka_unit_test(test_severity_names_parse_and_print),
	    cmocka_unit_test(test_an_invalid_max_severity_is_refused),
	    cmocka_unit_test(test_replacing_the_callback_waits_for_running_deliveries),
	};
	return svt_run_group(tests, NULL, NULL);
}
