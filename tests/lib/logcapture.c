/* Log capture for tests (see logcapture.h). The callback may run on any
 * thread the library logs from, so the buffer is guarded. */
#include "svtest.h"

#include "logcapture.h"
#include "util/buf.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static sv_buf captured;

static void record(sv_log_severity severity, const char *message, void *userdata)
{
	(void)userdata;
	pthread_mutex_lock(&lock);
	const char *name = sv_log_severity_name(severity);
	sv_buf_append(&captured, name, strlen(name));
	sv_buf_append(&captured, ": ", 2);
	sv_buf_append(&captured, message, strlen(message));
	sv_buf_append(&captured, "\n", 1);
	pthread_mutex_unlock(&lock);
}

void svt_log_begin(sv_log_severity max_severity)
{
	pthread_mutex_lock(&lock);
	sv_buf_free(&captured);
	pthread_mutex_unlock(&lock);
	assert_int_equal(sv_set_log_callback(record, NULL, max_severity), 0);
}

char *svt_log_end(void)
{
	assert_int_equal(sv_set_log_callback(NULL, NULL, SV_LOG_ERROR), 0);
	pthread_mutex_lock(&lock);
	char *text = strdup(captured.data ? captured.data : "");
	sv_buf_free(&captured);
	pthread_mutex_unlock(&lock);
	assert_non_null(text);
	return text;
}
