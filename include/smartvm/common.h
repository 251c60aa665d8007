/** @file
 * Macros every public header uses.
 *
 * SV_EXTERN marks a function as part of libsmartvm's ABI; everything else in
 * the library is hidden. Options structs a caller fills begin with
 * `unsigned int version` and come with an SV_<NAME>_INIT macro that sets it
 * (libgit2's pattern): the library reads only the fields that version has, so
 * a program built against an older header keeps working when fields are
 * added. */
#ifndef SMARTVM_COMMON_H
#define SMARTVM_COMMON_H

#if defined(__GNUC__)
#define SV_EXTERN __attribute__((visibility("default")))
#else
#define SV_EXTERN
#endif

#endif
