/** @file
 * smartvm error codes and the thread-local last-error message.
 *
 * Every public function returns 0 or one of the negative SV_E* codes below.
 * The human-readable story (field path, endpoint, failing syscall and path) is
 * kept per thread and read with sv_last_error(), like libgit2's git_error_last().
 *
 * Thread safety: every function here may be called from any thread; each
 * thread sees its own last error.
 */
#ifndef SMARTVM_ERROR_H
#define SMARTVM_ERROR_H

#include <smartvm/common.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
	SV_OK = 0,
	SV_EINVAL = -1,                     /**< bad argument or configuration; message names the field */
	SV_ENOMEM = -2,                     /**< out of memory */
	SV_EIO = -3,                        /**< a syscall or file operation failed */
	SV_EINVALID_STATE = -4,             /**< call not allowed in the VM's current state */
	SV_ENOTFOUND = -5,                  /**< no such VM, file, bundle, ... */
	SV_ETIMEOUT = -6,                   /**< a wait ran out of time */
	SV_EVMM = -7,                       /**< the VMM's API refused a request */
	SV_EPROCESS = -8,                   /**< the VMM (or a helper program) exited or failed */
	SV_EDOWNLOAD = -9,                  /**< an HTTP transfer failed */
	SV_ECHECKSUM = -10,                 /**< SHA-256 or size verification failed */
	SV_EUNSUPPORTED = -11,              /**< the backend or host cannot do this */
	SV_EEXISTS = -12,                   /**< already exists (VM id, file) */
	SV_EBUSY = -13,                     /**< resource in use */
	SV_EINVALID_SUBNET = -14,           /**< subnet option is not a usable IPv4 CIDR */
	SV_EBASE_IMAGE_RESOLVE_FAILED = -15,/**< no kernel/rootfs could be resolved */
	SV_ENETWORK = -16,                  /**< host networking (netlink, TAP, nftables) failed */
	SV_EARCHIVE = -17,                  /**< release archive malformed or unsafe */
	SV_EUNSAFE = -18,                   /**< a directory or file another user could control */
};

/** The message of the last error on this thread ("" if none). Valid until the
 * next smartvm call on this thread. */
SV_EXTERN const char *sv_last_error(void);

/** The code of the last error on this thread (0 if none). */
SV_EXTERN int sv_last_error_code(void);

/** A stable upper-case name for a code, e.g. "INVALID_SUBNET". Never NULL. */
SV_EXTERN const char *sv_error_name(int code);

#ifdef __cplusplus
}
#endif
#endif
