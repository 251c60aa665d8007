/* The version field every public options struct starts with (README,
 * "Library contract"): a caller fills the struct from its SV_..._INIT or
 * sv_..._init(), so the library knows which fields the caller's build of the
 * header has. */
#ifndef SV_UTIL_OPTIONS_VERSION_H
#define SV_UTIL_OPTIONS_VERSION_H

#include <stddef.h>

/* 0, or SV_EINVAL naming the struct when version is not one this library
 * knows (1 to known): a zeroed struct (version 0) did not start from its
 * _INIT, and a newer one has fields this library would ignore. */
int sv_options_check_version(const char *type, unsigned int version, unsigned int known);

/* The body of a public sv_..._init(opts, version): refuses a version the
 * library does not know, else sets *opts (size bytes) to template. A
 * struct at version 2 or later must copy only the caller's version's size,
 * as sva_exec_read_options (src/agent/agent_exec_encode.c) does. */
int sv_options_init(void *opts, const void *template, size_t size, const char *type, unsigned int version,
		    unsigned int known);

/* 0 when opts is NULL (all defaults) or carries a version this library
 * knows; the struct type's name is in the message. */
#define SV_CHECK_OPTIONS(opts, type, UPPER)                                                                  \
	((opts) ? sv_options_check_version(#type, (opts)->version, UPPER##_VERSION) : 0)

/* Defines the public type##_init() of an options struct. */
#define SV_DEFINE_OPTIONS_INIT(type, UPPER)                                                                  \
	int type##_init(type *opts, unsigned int version)                                                    \
	{                                                                                                    \
		static const type template_ = UPPER##_INIT;                                                  \
		return sv_options_init(opts, &template_, sizeof(template_), #type, version,                  \
				       UPPER##_VERSION);                                                     \
	}

#endif
