/* One description per configuration section: its fields, their JSON names,
 * C types and offsets, defaults and bounds. Reading, writing, validating,
 * copying, freeing and path resolution are generic walkers over these tables
 * (config_sections.c holds the tables), so a Firecracker field is added in
 * one place.
 *
 * Every pointer a section's C struct holds is described here: the copy starts
 * from a byte copy and replaces each described pointer, so an undescribed one
 * would be shared between two configs.
 */
#ifndef SV_CONFIG_CONFIG_SCHEMA_H
#define SV_CONFIG_CONFIG_SCHEMA_H

#include <smartvm/config.h>

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
	SV_FK_STRING,	    /* const char * */
	SV_FK_BOOL,	    /* bool */
	SV_FK_U32,	    /* uint32_t (the reader's ceiling: UINT32_MAX) */
	SV_FK_U64,	    /* uint64_t (the reader's ceiling: INT64_MAX, Firecracker's wire type) */
	SV_FK_ENUM,	    /* an int-sized enum; names[i] spells value i + enum_base */
	SV_FK_TRISTATE,	    /* sv_tristate (smartvm-only fields) */
	SV_FK_INLINE,	    /* an embedded struct described by sub */
	SV_FK_SECTION,	    /* const T *: an optional object described by sub, NULL = absent */
	SV_FK_ARRAY,	    /* const T * + size_t count at aux: an array of sub objects */
	SV_FK_STRV,	    /* const char *const * + size_t count at aux */
	SV_FK_TOKEN_BUCKET, /* sv_token_bucket, present when the bool at aux is true */
	SV_FK_JSON,	    /* const char *: a JSON object kept as its text */
	SV_FK_IGNORED,	    /* JSON only: a string Firecracker ignores, accepted and dropped */
} sv_field_kind;

enum {
	SV_FF_REQUIRED = 1u << 0,   /* validate: must be set */
	SV_FF_NONEMPTY = 1u << 1,   /* validate: a string must not be "" */
	SV_FF_ZERO_UNSET = 1u << 2, /* 0 / false / empty means unset: not written, not bound-checked */
	SV_FF_FOLD_CASE = 1u << 3,  /* enum spellings are read in any case */
	SV_FF_RANGE_MSG = 1u << 4,  /* bounds read "must be between MIN and MAX (got N)" */
	SV_FF_HOST_PATH = 1u << 5,  /* a host path, made absolute against the config's directory */
	SV_FF_SMARTVM = 1u << 6,    /* not Firecracker's: under the "smartvm" key, or C only */
};

typedef struct sv_section sv_section;

/* What a check hook sees besides its field: the whole config, and for an
 * element of an array the elements and its index (for duplicate checks). */
typedef struct {
	const sv_vm_config *cfg;
	const void *elems;
	size_t index;
} sv_check_ctx;

typedef struct {
	const char *json; /* key in Firecracker's JSON */
	const char *c;	  /* name in C field paths (validation); NULL = json */
	sv_field_kind kind;
	size_t offset;
	size_t aux; /* ARRAY/STRV: the count; TOKEN_BUCKET: the presence flag */
	const sv_section *sub;
	const char *const *names; /* ENUM spellings (NULL-terminated); STRING: the allowed values */
	int enum_base;
	uint64_t min, max; /* validate: bounds of U32/U64 (max 0 = none) */
	unsigned flags;
	/* validate: a rule beyond the generic ones; value points at the field */
	int (*check)(const char *path, const void *value, const sv_check_ctx *ctx);
} sv_field;

struct sv_section {
	size_t size;
	const sv_field *fields;
	size_t n_fields;
	const char *const *refused; /* Firecracker keys smartvm does not model: refused by path */
	size_t version_offset;	    /* versioned options structs: their unsigned version field */
	unsigned version;	    /* 0 = not versioned */
	/* versioned: the struct's size at version 1 when later versions added
	 * fields (0 = unchanged): what a version-1 caller gave is read only
	 * this far */
	size_t v1_size;
	/* validate: rules across the section's fields, after each field's own */
	int (*check)(const char *path, const void *obj, const sv_check_ctx *ctx);
};

extern const sv_section sv_cs_vm, sv_cs_rate_limiter, sv_cs_boot_source, sv_cs_machine_config, sv_cs_drive,
    sv_cs_net_iface, sv_cs_vsock, sv_cs_balloon, sv_cs_mmds, sv_cs_logger, sv_cs_metrics, sv_cs_entropy,
    sv_cs_net_options, sv_cs_pmem, sv_cs_memory_hotplug, sv_cs_serial;
/* sv_vm_config version 1's layout (config_layout_v1.c). */
extern const sv_section sv_cs_vm_v1;

/* The description of sv_vm_config at `version`, NULL for one this library
 * does not know. */
const sv_section *sv_config_layout(unsigned version);

/* C field paths ("drives[1].rate_limiter.bandwidth"): dst = path.name, or
 * path[index] when name is NULL; a path too long ends in "...". */
#define SV_CONFIG_PATH_LEN 192
void sv_config_path(char dst[SV_CONFIG_PATH_LEN], const char *path, const char *name, size_t index);

/* The field's C name for paths. */
static inline const char *sv_field_c(const sv_field *f) { return f->c ? f->c : f->json; }

/* The section's JSON (a new reference; NULL only when memory runs out):
 * unset optional fields are left out, SV_FF_SMARTVM fields never appear. */
json_t *sv_config_section_json(const sv_section *s, const void *obj);

/* Fills obj (zeroed, s->size bytes) from the JSON object o found at the JSON
 * path `path`; on error obj holds what was read so far, all owned. */
int sv_config_section_read(const sv_section *s, json_t *o, const char *path, void *obj);

/* dst (ds->size bytes, zeroed) becomes a deep copy of src, read through ss:
 * the same section for a copy, or the same section of another sv_vm_config
 * version, fields matched by C name (config_layout_v1.c). A field of src that
 * dst's layout lacks must be unset, else SV_EINVAL "<path>: not in
 * sv_vm_config version <to_version>". On failure dst holds only what it owns. */
int sv_config_section_convert(const sv_section *ds, void *dst, const sv_section *ss, const void *src,
			      const char *path, unsigned to_version);
/* Frees what obj points at (not obj itself). */
void sv_config_section_free(const sv_section *s, void *obj);

#endif
