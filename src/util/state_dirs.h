/* Where smartvm keeps its state when the caller does not say: the one place
 * the defaults are written (the manager and the images module both ask here).
 *
 *   root:        runtime /run/smartvm, data /var/lib/smartvm (FHS)
 *   other users: runtime $XDG_RUNTIME_DIR/smartvm, data $XDG_DATA_HOME/smartvm
 *                (~/.local/share/smartvm); without XDG_RUNTIME_DIR, a per-uid
 *                directory /tmp/smartvm-<uid>/runtime, like tmux's
 *                /tmp/tmux-<uid>, which sv_trusted_dir verifies before use
 *                (another user who creates it first is refused).
 *
 * The seed's defaults (/tmp/.smartvm, /dev/shm/.smartvm/runtime) sat in
 * directories every local user can write; they stay reachable by option. */
#ifndef SV_UTIL_STATE_DIRS_H
#define SV_UTIL_STATE_DIRS_H

#include <sys/types.h>

typedef enum { SV_STATE_DATA, SV_STATE_RUNTIME } sv_state_kind;

/* The environment variables that override the defaults. */
#define SV_ENV_DATA_DIR "SMARTVM_DATA_DIR"
#define SV_ENV_RUNTIME_DIR "SMARTVM_RUNTIME_DIR"

/* given when set and non-empty, else $SMARTVM_DATA_DIR / $SMARTVM_RUNTIME_DIR,
 * else the default for the effective uid. malloc'd; NULL when out of memory. */
char *sv_state_dir(sv_state_kind kind, const char *given);

/* The built-in default for uid (reads XDG_*, HOME). malloc'd. */
char *sv_state_dir_default(sv_state_kind kind, uid_t uid);

#endif
