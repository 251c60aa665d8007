/* Setting and wrapping the thread-local error (see include/smartvm/error.h).
 *
 * One helper sets, one prefixes: as an error climbs, each layer prefixes what
 * it was doing, so the final message reads from the user's intent down to the
 * syscall. Every helper returns the code so callers can `return sv_err(...)`.
 */
#ifndef SV_UTIL_ERROR_H
#define SV_UTIL_ERROR_H

#include <smartvm/error.h>

/* Replaces the current error with code and the formatted message. */
int sv_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Same, appending ": <strerror(errnum)>". */
int sv_err_errno(int code, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefixes the current message with "<formatted>: " and returns the current
 * code (so `return sv_err_prefix("starting VM \"%s\"", id);` keeps it). */
int sv_err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Clears the error (start of each public call that may succeed silently). */
void sv_err_clear(void);

/* Saves and restores the current error around cleanup code that may itself
 * fail, so the original cause is what the caller sees. */
typedef struct {
	int code;
	char *message;
} sv_err_saved;
void sv_err_save(sv_err_saved *saved);
int sv_err_restore(sv_err_saved *saved);

/* The helpers above that set an error always return a negative code. Saying
 * so where they are called lets the compiler and the static analyzer (make
 * analyze) see that `rc = sv_err(...)` is a failure on every path, instead of
 * exploring a "succeeded" branch that cannot happen. (error.c, which
 * defines them, #undefs these.) */
static inline int sv__failure(int rc) { return rc < 0 ? rc : SV_EIO; }
#define sv_err(...) sv__failure(sv_err(__VA_ARGS__))
#define sv_err_errno(...) sv__failure(sv_err_errno(__VA_ARGS__))
#define sv_err_prefix(...) sv__failure(sv_err_prefix(__VA_ARGS__))

#endif
