/* The library's diagnostics (see include/smartvm/log.h): formatted here and
 * handed to the callback the program installed, or dropped. Never printed:
 * the library owns no file descriptor of its caller. */
#ifndef SV_UTIL_LOG_H
#define SV_UTIL_LOG_H

#include <smartvm/log.h>

/* Leaves the thread's last error and errno as they were, so callers may log
 * sv_last_error() and go on returning it. */
void sv_log(sv_log_severity sev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define sv_warn(...) sv_log(SV_LOG_WARN, __VA_ARGS__)
#define sv_info(...) sv_log(SV_LOG_INFO, __VA_ARGS__)
#define sv_debug(...) sv_log(SV_LOG_DEBUG, __VA_ARGS__)

#endif
