/** @file
 * The library's diagnostics: warnings (a cached bundle evicted, the newest
 * cached Firecracker used because "latest" could not be resolved, a leftover
 * kept by gc, ...), information (a download retried, what gc removed) and
 * debugging detail. libsmartvm never writes to stdout or stderr itself: a
 * program that wants these messages installs a callback (the smartvm command
 * prints them on stderr). Without one, the default, they are dropped.
 * Errors are not logged: they are returned, with sv_last_error().
 *
 * Thread safety: sv_set_log_callback may be called from any thread at any
 * time. The callback runs on whichever thread the library logs from,
 * possibly on several at once, so it must be thread-safe itself; it must not
 * call sv_set_log_callback. Once sv_set_log_callback returns, the previous
 * callback is not running and is never called again.
 */
#ifndef SMARTVM_LOG_H
#define SMARTVM_LOG_H

#include <smartvm/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** How much a message matters, most important first. */
typedef enum {
	SV_LOG_ERROR = 0, /**< something failed that the call could not report as its result */
	SV_LOG_WARN = 1,  /**< the call succeeded, but not as asked (a fallback, an eviction) */
	SV_LOG_INFO = 2,  /**< what the library did (retries, removals) */
	SV_LOG_DEBUG = 3, /**< detail for finding a problem */
} sv_log_severity;

/** Receives one message: a single line without a trailing newline or a
 * "smartvm:" prefix, e.g. `evicted base image bundle "a" (least recently
 * used; keeping at most 2)`. The text is valid only during the call. */
typedef void (*sv_log_fn)(sv_log_severity severity, const char *message, void *userdata);

/** Sends every message of severity max_severity or more important
 * (SV_LOG_WARN: errors and warnings) to fn with userdata. fn NULL drops all
 * messages again. SV_EINVAL for a max_severity that is not one of the
 * above. */
SV_EXTERN int sv_set_log_callback(sv_log_fn fn, void *userdata, sv_log_severity max_severity);

/** "error", "warning", "info", "debug" ("unknown" for anything else). */
SV_EXTERN const char *sv_log_severity_name(sv_log_severity severity);

/** Parses "error", "warning" (or "warn"), "info", "debug". SV_EINVAL
 * naming the value otherwise. */
SV_EXTERN int sv_log_severity_parse(sv_log_severity *out, const char *text);

#ifdef __cplusplus
}
#endif
#endif
