/* The log callback (see util/log.h and include/smartvm/log.h).
 *
 * The most detailed severity wanted is an atomic, read without a lock on
 * every sv_log, so a message nobody wants costs one load and no formatting.
 * The callback and its userdata change together under a mutex; a delivery
 * takes both under it, counts itself in, and calls the callback with the
 * mutex released, so deliveries from several threads run at once and a
 * callback may log again. sv_set_log_callback installs the new callback at
 * once, then waits only for the deliveries to older callbacks still running
 * (a read-write lock would starve it while threads keep logging). */
#include "util/log.h"

#include "util/error.h"
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* -1: no callback, nothing is formatted. */
static atomic_int wanted = -1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t old_finished = PTHREAD_COND_INITIALIZER;
static sv_log_fn callback;
static void *callback_data;
static unsigned long generation;  /* bumped by every sv_set_log_callback */
static unsigned long running;	  /* deliveries to the current callback */
static unsigned long running_old; /* deliveries to older callbacks */

static const char *const names[] = {"error", "warning", "info", "debug"};

static bool valid(sv_log_severity s) { return (int)s >= SV_LOG_ERROR && (int)s <= SV_LOG_DEBUG; }

int sv_set_log_callback(sv_log_fn fn, void *userdata, sv_log_severity max_severity)
{
	sv_err_clear();
	if (fn && !valid(max_severity))
		return sv_err(
		    SV_EINVAL,
		    "log callback: max_severity %d is not a severity (SV_LOG_ERROR to SV_LOG_DEBUG)",
		    (int)max_severity);
	pthread_mutex_lock(&lock);
	callback = fn;
	callback_data = fn ? userdata : NULL;
	atomic_store(&wanted, fn ? (int)max_severity : -1);
	generation++;
	running_old += running;
	running = 0;
	while (running_old > 0)
		pthread_cond_wait(&old_finished, &lock);
	pthread_mutex_unlock(&lock);
	return 0;
}

const char *sv_log_severity_name(sv_log_severity severity)
{
	return valid(severity) ? names[severity] : "unknown";
}

int sv_log_severity_parse(sv_log_severity *out, const char *text)
{
	for (int s = SV_LOG_ERROR; s <= SV_LOG_DEBUG; s++)
		if (text && strcmp(text, names[s]) == 0) {
			*out = (sv_log_severity)s;
			return 0;
		}
	if (text && strcmp(text, "warn") == 0) {
		*out = SV_LOG_WARN;
		return 0;
	}
	return sv_err(SV_EINVAL, "\"%s\" is not a log level (error, warning, info, debug)", text ? text : "");
}

void sv_log(sv_log_severity sev, const char *fmt, ...)
{
	if ((int)sev > atomic_load_explicit(&wanted, memory_order_relaxed))
		return;
	int saved_errno = errno;
	char small[512], *text = small;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(small)) {
		char *big = malloc((size_t)n + 1);
		if (big) {
			va_start(ap, fmt);
			vsnprintf(big, (size_t)n + 1, fmt, ap);
			va_end(ap);
			text = big;
		} /* else: the message cut to fit, rather than none */
	}
	/* A callback that calls into the library must not change the error
	 * the code that logged is about to return. */
	sv_err_saved saved;
	sv_err_save(&saved);
	pthread_mutex_lock(&lock);
	/* Checked again under the lock: the callback may have changed. */
	sv_log_fn fn = (int)sev <= atomic_load(&wanted) ? callback : NULL;
	void *data = callback_data;
	unsigned long mine = generation;
	if (fn)
		running++;
	pthread_mutex_unlock(&lock);
	if (fn) {
		fn(sev, text, data);
		pthread_mutex_lock(&lock);
		if (mine == generation)
			running--;
		else if (--running_old == 0)
			pthread_cond_broadcast(&old_finished);
		pthread_mutex_unlock(&lock);
	}
	sv_err_restore(&saved);
	if (text != small)
		free(text);
	errno = saved_errno;
}
