/* The fake Firecracker's shared state and the seams between its files.
 *
 * fake_firecracker.c  process life: arguments, fault injection, the socket,
 *                     the event loop, graceful exit and the guest's timers.
 * fc_router.c         HTTP: reads requests, routes them through one table,
 *                     answers like Firecracker, records every request.
 * fc_schema.c         body validation against the API spec, with serde-style
 *                     messages (unknown fields, types, enums, minimums).
 * fc_preboot.c        pre-boot resources (boot-source, drives, pmem, cpu-config, ...).
 * fc_runtime.c        actions, PATCH /vm, GET /, /version, /vm/config and the
 *                     guest model (power-off after Ctrl+Alt+Del, crashes).
 * fc_live.c           post-boot operations: MMDS data store, balloon target,
 *                     statistics and free page hinting runs, memory hotplug,
 *                     PATCH of drives and interfaces.
 * fc_snapshot.c       PUT /snapshot/create and /snapshot/load.
 * fc_config_file.c    --config-file: configured and started from one document.
 * fc_vsock.c          the vsock's hybrid CONNECT handshake, relayed to an agent.
 *
 * Everything runs on one thread (MHD driven from our own poll loop), so
 * handlers read and write the state without locks.
 */
#ifndef FAKE_FC_H
#define FAKE_FC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#define FAKE_FC_VERSION "1.16.1"

typedef enum { VM_NOT_STARTED = 0, VM_RUNNING, VM_PAUSED } fc_vm_state;

typedef struct fake_fc {
	const char *id;
	const char *api_sock;

	fc_vm_state state;
	/* Configured resources, as accepted (each a JSON object; NULL = not set).
	 * drives and net_ifaces are arrays kept in the order first PUT. */
	json_t *boot_source;
	json_t *machine_config; /* always set: Firecracker starts with defaults */
	json_t *drives;
	json_t *net_ifaces;
	json_t *vsock;
	json_t *balloon;
	json_t *mmds_config;
	json_t *logger;
	json_t *metrics;
	json_t *entropy;
	json_t *pmem;           /* array, in the order first PUT */
	json_t *memory_hotplug;
	json_t *serial; /* PUT /serial's body (not part of GET /vm/config, as in v1.16.1) */
	json_t *cpu_config;
	int log_fd;     /* -1 until PUT /logger: logs go to stdout */
	int metrics_fd; /* -1 until PUT /metrics */
	int vsock_fd;   /* the vsock's bound host socket; -1 = none */

	/* Guest model. */
	bool ignore_ctrl_alt_del;
	bool poweroff_pending;      /* Ctrl+Alt+Del seen while paused */
	long long poweroff_at_ms;   /* monotonic; -1 = none */
	long long crash_after_ms;   /* from the environment; -1 = never */
	long long crash_at_ms;      /* -1 = not armed */
	long long guest_exit;       /* FAKE_FC_GUEST_EXIT: the command's status; -1 = no command guest */
	long long command_at_ms;    /* -1 = not armed: when the command "ends" */

	const char *stall_path;     /* requests to it are never answered */
	const char *die_path;       /* a request to it: a message on stderr, exit 1 */
	int record_fd;              /* -1 = not recording */

	/* Live operations. */
	bool boot_configured;       /* a boot-specific resource was PUT (snapshot load refused) */
	json_t *mmds_data;          /* NULL until the first PUT /mmds */
	long long stats_updated_ms; /* balloon statistics: last guest report */
	long long hint_host_cmd;    /* free page hinting: the host's last command (0 = none yet) */
	long long hint_guest_cmd;   /* the guest's answer; -1 = none yet */
	long long hint_last_run;    /* run ids start at 2 (0 = stop, 1 = done) */
	long long hotplug_requested_mib; /* memory hotplug: the guest plugs at once */
	long long exit_at_ms;       /* -1 = none; fatal error answered, exit 1 then */
	bool jailed;                /* FAKE_FC_JAILED: absolute paths resolve under the cwd (the jail root) */
	bool from_file;             /* configured by --config-file, not by the API */
} fake_fc;

/* A handler's answer: 204 unless status/body say otherwise. */
typedef struct {
	int status;
	json_t *body;   /* owned; 200 responses */
	char *fault;    /* malloc'd fault_message; 400 responses */
} fc_reply;

/* Sets a 400 with a formatted fault_message. */
void fc_fail(fc_reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets a 200 with body (reference stolen). */
void fc_ok_json(fc_reply *r, json_t *body);

/* The messages Firecracker uses for calls made in the wrong VM state. */
#define FC_MSG_NOT_AFTER_START "The requested operation is not supported after starting the microVM."
#define FC_MSG_NOT_BEFORE_START "The requested operation is not supported before starting the microVM."

/* Logging the way Firecracker does: "<utc time> [<id>:<thread>] <message>"
 * to stdout, or to the logger's file once one is configured. */
void fc_log(fake_fc *fc, const char *thread, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

long long fc_now_ms(void);

/* The path the process opens for an API path: under the fake jailer, an
 * absolute path is taken relative to the jail root (the cwd), as chroot
 * would. malloc'd. */
char *fc_host_path(fake_fc *fc, const char *path);

/* Binds and listens on a Unix socket at an API path (errno or 0). */
int fc_bind_unix(fake_fc *fc, const char *api_path, int *fd_out);

/* Rust's io::Error display: "No such file or directory (os error 2)". */
const char *fc_os_error(int e);

/* fc_router.c */
struct MHD_Daemon;
struct MHD_Daemon *fc_router_start(fake_fc *fc, int listen_fd);
/* Appends one line to $FAKE_FC_RECORD_DIR/<id>.jsonl (when recording):
 * {"method", "path", "body", "status"}; status 0 is written as null. */
void fc_record(const char *method, const char *url, json_t *body, int status);
/* Resumes stalled connections (MHD refuses to stop otherwise) and stops. */
void fc_router_stop(struct MHD_Daemon *d);

/* Handlers. id is the path's {id} segment (NULL for fixed paths); body the
 * request's JSON, already validated against the route's schema (NULL for GETs). */
typedef void fc_handler(fake_fc *fc, const char *id, json_t *body, fc_reply *r);

/* fc_preboot.c */
fc_handler fc_put_boot_source, fc_put_machine_config, fc_get_machine_config, fc_put_drive,
	fc_put_net_iface, fc_put_vsock, fc_put_balloon, fc_put_mmds_config, fc_put_logger,
	fc_put_metrics, fc_put_entropy, fc_put_pmem, fc_put_memory_hotplug, fc_put_cpu_config, fc_put_serial;

/* fc_live.c */
fc_handler fc_put_mmds, fc_patch_mmds, fc_get_mmds, fc_get_balloon, fc_patch_balloon,
	fc_patch_balloon_stats, fc_get_balloon_stats, fc_patch_drive, fc_patch_net_iface, fc_patch_pmem,
	fc_patch_balloon_hinting_start, fc_patch_balloon_hinting_stop, fc_get_balloon_hinting_status,
	fc_patch_memory_hotplug, fc_get_memory_hotplug;

/* fc_snapshot.c */
fc_handler fc_put_snapshot_create, fc_put_snapshot_load;

/* fc_vsock.c: the hybrid vsock's host side (CONNECT 1024 reaches the agent
 * at $FAKE_FC_VSOCK_AGENT). */
void fc_vsock_accept(fake_fc *fc);
void fc_vsock_reap(void);

/* fc_serial.c: the guest's serial console on stdin/stdout. */
int fc_serial_fd(void); /* -1 once stdin ended */
void fc_serial_read(fake_fc *fc);

/* fc_config_file.c: configures and starts the VM from --config-file's
 * document, or logs why not and exits with code 152. */
void fc_boot_from_file(fake_fc *fc, const char *path);

/* fc_runtime.c */
fc_handler fc_get_instance_info, fc_get_version, fc_get_vm_config, fc_put_actions, fc_patch_vm;
/* Called by the event loop: the guest acts on due timers. */
void fc_guest_tick(fake_fc *fc);
/* Milliseconds until the next guest timer (-1 = none). */
int fc_guest_next_timeout(fake_fc *fc);
/* Graceful exit: removes the socket, stops serving, exits with code. */
void fc_exit(fake_fc *fc, int code) __attribute__((noreturn));

#endif
