/* Request body schemas of firecracker-api-v1.16.1.yaml, checked the way
 * Firecracker's serde deserialisation checks them: every struct denies
 * unknown fields, required fields must be present, optional ones may be null,
 * integers must fit their Rust type and the spec's minimum/maximum, enums take
 * only their variants. The first problem found wins, as with serde.
 *
 * Messages follow serde's wording ("unknown field `x`, expected one of ...",
 * "missing field `x`", "invalid type: string \"2\", expected u8") prefixed with
 * the field's path (serde_path_to_error style) instead of serde's "at line L
 * column C", so every message names the field.
 */
#ifndef FAKE_FC_SCHEMA_H
#define FAKE_FC_SCHEMA_H

#include <jansson.h>
#include <stdbool.h>

typedef enum { FT_STRING, FT_BOOL, FT_UINT, FT_ENUM, FT_STRUCT, FT_STRING_ARRAY, FT_STRUCT_ARRAY } fc_ftype;

struct fc_schema;

typedef struct {
	const char *name;
	fc_ftype type;
	bool required;
	const char *rust_int;          /* FT_UINT: "u8", "u16", "u32", "u64", "usize", or "i32" */
	long long minimum;             /* FT_UINT: the spec's minimum (0 = none) */
	const char *const *variants;   /* FT_ENUM: NULL-terminated */
	bool case_insensitive;         /* FT_ENUM */
	const struct fc_schema *schema;/* FT_STRUCT, FT_STRUCT_ARRAY */
} fc_field;

typedef struct fc_schema {
	const char *name;        /* the Rust type, for "expected struct X" */
	const fc_field *fields;  /* terminated by a field with name NULL */
	bool any_value;          /* serde_json::Value: any JSON is accepted */
} fc_schema;

/* NULL when body fits s, else a malloc'd message (without Firecracker's
 * "An error occurred when deserializing..." prefix, which the router adds). */
char *fc_schema_check(const fc_schema *s, const json_t *body);

extern const fc_schema fc_schema_boot_source;
extern const fc_schema fc_schema_machine_config;
extern const fc_schema fc_schema_drive;
extern const fc_schema fc_schema_net_iface;
extern const fc_schema fc_schema_vsock;
extern const fc_schema fc_schema_balloon;
extern const fc_schema fc_schema_mmds_config;
extern const fc_schema fc_schema_logger;
extern const fc_schema fc_schema_metrics;
extern const fc_schema fc_schema_entropy;
extern const fc_schema fc_schema_pmem;
extern const fc_schema fc_schema_memory_hotplug;
extern const fc_schema fc_schema_serial;
extern const fc_schema fc_schema_cpu_config;
extern const fc_schema fc_schema_balloon_start_cmd;
extern const fc_schema fc_schema_memory_hotplug_update;
extern const fc_schema fc_schema_action;
extern const fc_schema fc_schema_vm_state;
extern const fc_schema fc_schema_mmds_contents;
extern const fc_schema fc_schema_balloon_update;
extern const fc_schema fc_schema_balloon_stats_update;
extern const fc_schema fc_schema_partial_drive;
extern const fc_schema fc_schema_partial_net_iface;
extern const fc_schema fc_schema_partial_pmem;
extern const fc_schema fc_schema_snapshot_create;
extern const fc_schema fc_schema_snapshot_load;

#endif
