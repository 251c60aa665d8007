/* The smartvm agent protocol (docs/agent-protocol.md): frames, TLV fields,
 * an incremental frame reader and flow-control windows.
 *
 * Compiled into both sides: the static guest agent (guest/) and libsmartvm
 * (src/). So it depends on libc only, never allocates, and never trusts a
 * byte it reads: every length is checked before it is used, and a frame
 * that does not parse is reported, not guessed at. All integers on the wire
 * are little-endian.
 */
#ifndef SV_AGENT_PROTO_H
#define SV_AGENT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SVA_VERSION 1
#define SVA_HEADER_SIZE 12
#define SVA_MAX_PAYLOAD 65536
#define SVA_MAX_FRAME (SVA_HEADER_SIZE + SVA_MAX_PAYLOAD)
#define SVA_PING_MAX 256
/* The window the agent offers in HELLO_OK, and the most a peer may offer. */
#define SVA_DEFAULT_WINDOW 262144u
#define SVA_MAX_WINDOW (16u << 20)
#define SVA_VSOCK_PORT 1024
#define SVA_SERIAL_PORT_NAME "org.smartvm.agent.0"

/* Message types (§4). */
enum {
	SVA_HELLO = 0x01,
	SVA_HELLO_OK = 0x02,
	SVA_PING = 0x03,
	SVA_PONG = 0x04,
	SVA_ERROR = 0x0f,
	SVA_EXEC = 0x10,
	SVA_STARTED = 0x11,
	SVA_STDIN = 0x12,
	SVA_STDIN_EOF = 0x13,
	SVA_STDOUT = 0x14,
	SVA_STDERR = 0x15,
	SVA_SIGNAL = 0x16,
	SVA_RESIZE = 0x17,
	SVA_EXIT = 0x18,
	SVA_WINDOW = 0x19,
	SVA_PUT = 0x20,
	SVA_GET = 0x21,
	SVA_FILE_INFO = 0x22,
	SVA_FILE_DATA = 0x23,
	SVA_FILE_END = 0x24,
	SVA_OK = 0x25,
	SVA_STAT = 0x26,
	SVA_MKDIR = 0x27,
	SVA_READDIR = 0x28,
	SVA_DIRENT = 0x29,
	SVA_SYMLINK = 0x2a,
	SVA_MOUNT = 0x2b, /* only to an agent whose HELLO_OK has SVA_FEATURE_MOUNT */
};

/* HELLO_OK's features bits (tag 6): what an agent has beyond version 1's
 * first messages. A client sends such a message only when the bit is set,
 * so a newer library with an older agent says why instead of waiting. */
#define SVA_FEATURE_MOUNT 0x1u

/* File types (§6). */
enum { SVA_FT_REGULAR = 1, SVA_FT_DIR = 2, SVA_FT_SYMLINK = 3, SVA_FT_OTHER = 4 };

/* "HELLO", "EXEC", ... or NULL for a type version 1 does not have. */
const char *sva_type_name(uint8_t type);
/* True for the types that open a new channel (EXEC, PUT, GET, STAT, MKDIR,
 * READDIR, SYMLINK, MOUNT). */
bool sva_type_opens_channel(uint8_t type);
/* True for the data types that count against a window (STDIN, STDOUT,
 * STDERR, FILE_DATA). */
bool sva_type_is_data(uint8_t type);

/* ---- frames ---- */

typedef struct {
	uint8_t type;
	uint8_t flags;
	uint32_t channel;
	uint32_t length;	/* of the payload */
	const uint8_t *payload; /* length bytes; valid until the reader moves on */
} sva_frame;

/* Writes a 12-byte header. */
void sva_header_put(uint8_t *out, uint8_t type, uint32_t channel, uint32_t length);

/* Reads a 12-byte header into f (payload NULL). -1 when the length exceeds
 * SVA_MAX_PAYLOAD or the reserved bytes are not zero. */
int sva_header_get(const uint8_t *in, sva_frame *f);

/* ---- building a message ---- */

/* A frame being built in a caller's buffer (at least SVA_HEADER_SIZE
 * bytes). Adding past the buffer or past SVA_MAX_PAYLOAD sets overflow;
 * sva_msg_end then fails, so a caller checks once. */
typedef struct {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool overflow;
} sva_msg;

void sva_msg_begin(sva_msg *m, uint8_t *buf, size_t cap, uint8_t type, uint32_t channel);
void sva_msg_u32(sva_msg *m, uint16_t tag, uint32_t v);
void sva_msg_u64(sva_msg *m, uint16_t tag, uint64_t v);
void sva_msg_bytes(sva_msg *m, uint16_t tag, const void *data, size_t len);
/* A NUL-terminated string as a bytes field (without the NUL). */
void sva_msg_str(sva_msg *m, uint16_t tag, const char *s);
/* Raw payload bytes (data messages, PING). */
void sva_msg_raw(sva_msg *m, const void *data, size_t len);
/* Fills in the header's length. Returns the frame's total size, or -1 on
 * overflow. */
long sva_msg_end(sva_msg *m);
/* A host's HELLO offering this protocol version, sent by name (not ended:
 * sva_msg_end). */
void sva_msg_hello(sva_msg *m, uint8_t *buf, size_t cap, const char *name);

/* ---- reading TLV fields ---- */

enum { SVA_KIND_U32 = 1, SVA_KIND_U64, SVA_KIND_BYTES };

/* What a message's known fields look like. */
typedef struct {
	uint16_t tag;
	uint8_t kind;
	bool repeated;
} sva_spec;

/* One known field as parsed: for a repeated tag, the first occurrence and
 * the count (sva_tlv_next walks them all). */
typedef struct {
	bool present;
	uint32_t count;
	uint64_t num;	      /* U32 and U64 kinds */
	const uint8_t *bytes; /* BYTES kind; not NUL-terminated */
	uint32_t len;
} sva_field;

/* Parses a TLV payload against spec[0..n): out[i] describes spec[i].
 * Unknown tags are skipped. Returns 0, or -1 when a field runs past the
 * payload, a known integer has the wrong length, or a non-repeated known
 * tag appears twice. */
int sva_tlv_parse(const uint8_t *payload, size_t len, const sva_spec *spec, size_t n, sva_field *out);

/* Walks every field with the given tag: *pos starts at 0. Returns 1 with
 * the value, 0 at the end (call only on a payload sva_tlv_parse accepted). */
int sva_tlv_next(const uint8_t *payload, size_t len, uint16_t tag, size_t *pos, const uint8_t **value,
		 uint32_t *value_len);

uint32_t sva_get_u32(const uint8_t *p);
uint64_t sva_get_u64(const uint8_t *p);
void sva_put_u32(uint8_t *p, uint32_t v);
void sva_put_u64(uint8_t *p, uint64_t v);

/* The specs of the structured messages, indexed by the tag names of §3/§4.
 * SVA_F_<MESSAGE>_<FIELD> is the field's index in out[]. */
#define SVA_SPEC(name)                                                                                       \
	extern const sva_spec sva_spec_##name[];                                                             \
	extern const size_t sva_spec_##name##_n

enum { SVA_F_HELLO_VMIN, SVA_F_HELLO_VMAX, SVA_F_HELLO_CLIENT, SVA_F_HELLO_N };
SVA_SPEC(hello);
enum { SVA_F_HELLO_OK_VERSION, SVA_F_HELLO_OK_AGENT, SVA_F_HELLO_OK_WINDOW, SVA_F_HELLO_OK_FEATURES, SVA_F_HELLO_OK_N };
SVA_SPEC(hello_ok);
enum { SVA_F_ERROR_ERRNO, SVA_F_ERROR_MESSAGE, SVA_F_ERROR_N };
SVA_SPEC(error);
enum {
	SVA_F_EXEC_ARG,
	SVA_F_EXEC_ENV,
	SVA_F_EXEC_CWD,
	SVA_F_EXEC_UID,
	SVA_F_EXEC_GID,
	SVA_F_EXEC_GROUPS,
	SVA_F_EXEC_TTY_ROWS,
	SVA_F_EXEC_TTY_COLS,
	SVA_F_EXEC_TIMEOUT,
	SVA_F_EXEC_STDIN,
	SVA_F_EXEC_RLIMIT,
	SVA_F_EXEC_NO_NEW_PRIVS,
	SVA_F_EXEC_ROOT,
	SVA_F_EXEC_HOSTNAME,
	SVA_F_EXEC_N
};
SVA_SPEC(exec);
/* EXEC tag numbers (for building). */
enum {
	SVA_T_EXEC_ARG = 1,
	SVA_T_EXEC_ENV,
	SVA_T_EXEC_CWD,
	SVA_T_EXEC_UID,
	SVA_T_EXEC_GID,
	SVA_T_EXEC_GROUPS,
	SVA_T_EXEC_TTY_ROWS,
	SVA_T_EXEC_TTY_COLS,
	SVA_T_EXEC_TIMEOUT,
	SVA_T_EXEC_STDIN,
	SVA_T_EXEC_RLIMIT,
	SVA_T_EXEC_NO_NEW_PRIVS,
	SVA_T_EXEC_ROOT,
	SVA_T_EXEC_HOSTNAME,
};
enum { SVA_F_STARTED_PID, SVA_F_STARTED_N };
SVA_SPEC(started);
enum { SVA_F_SIGNAL_SIGNAL, SVA_F_SIGNAL_N };
SVA_SPEC(signal);
enum { SVA_F_RESIZE_ROWS, SVA_F_RESIZE_COLS, SVA_F_RESIZE_N };
SVA_SPEC(resize);
enum { SVA_F_EXIT_CODE, SVA_F_EXIT_SIGNAL, SVA_F_EXIT_TIMED_OUT, SVA_F_EXIT_N };
SVA_SPEC(exit);
enum { SVA_F_WINDOW_BYTES, SVA_F_WINDOW_N };
SVA_SPEC(window);
enum {
	SVA_F_PUT_PATH,
	SVA_F_PUT_MODE,
	SVA_F_PUT_UID,
	SVA_F_PUT_GID,
	SVA_F_PUT_MTIME_SEC,
	SVA_F_PUT_MTIME_NSEC,
	SVA_F_PUT_SIZE,
	SVA_F_PUT_N
};
SVA_SPEC(put);
enum { SVA_F_PATH_PATH, SVA_F_PATH_N }; /* GET, READDIR */
SVA_SPEC(path);
enum {
	SVA_F_INFO_TYPE,
	SVA_F_INFO_MODE,
	SVA_F_INFO_UID,
	SVA_F_INFO_GID,
	SVA_F_INFO_SIZE,
	SVA_F_INFO_MTIME_SEC,
	SVA_F_INFO_MTIME_NSEC,
	SVA_F_INFO_LINK,
	SVA_F_INFO_N
};
SVA_SPEC(file_info);
enum { SVA_F_END_SHA256, SVA_F_END_N };
SVA_SPEC(file_end);
enum { SVA_F_STAT_PATH, SVA_F_STAT_FOLLOW, SVA_F_STAT_N };
SVA_SPEC(stat);
enum {
	SVA_F_MKDIR_PATH,
	SVA_F_MKDIR_MODE,
	SVA_F_MKDIR_UID,
	SVA_F_MKDIR_GID,
	SVA_F_MKDIR_PARENTS,
	SVA_F_MKDIR_N
};
SVA_SPEC(mkdir);
enum { SVA_F_DIRENT_NAME, SVA_F_DIRENT_TYPE, SVA_F_DIRENT_N };
SVA_SPEC(dirent);
enum { SVA_F_SYMLINK_PATH, SVA_F_SYMLINK_TARGET, SVA_F_SYMLINK_UID, SVA_F_SYMLINK_GID, SVA_F_SYMLINK_N };
SVA_SPEC(symlink);
enum {
	SVA_F_MOUNT_TARGET,
	SVA_F_MOUNT_FSTYPE,
	SVA_F_MOUNT_SOURCE,
	SVA_F_MOUNT_FLAGS,
	SVA_F_MOUNT_DATA,
	SVA_F_MOUNT_ROOT,
	SVA_F_MOUNT_CREATE,
	SVA_F_MOUNT_SUBPATH,
	SVA_F_MOUNT_N
};
SVA_SPEC(mount);
/* MOUNT's create values: what the agent makes when the target is missing. */
enum { SVA_MOUNT_CREATE_NONE = 0, SVA_MOUNT_CREATE_DIR = 1, SVA_MOUNT_CREATE_FILE = 2 };

/* The spec of a structured message type, or NULL (data messages, PING,
 * PONG, STDIN_EOF, OK). */
const sva_spec *sva_spec_for(uint8_t type, size_t *n);

/* True when name is one path component a receiver may create: not empty,
 * not "." or "..", no '/' and no NUL. */
bool sva_name_is_safe(const uint8_t *name, size_t len);

/* ---- the incremental frame reader ---- */

/* Feed it the stream's bytes in chunks of any size; it hands back whole
 * frames. Its buffer is the caller's (at least SVA_MAX_FRAME bytes), so
 * it never holds more than one frame plus what was fed beyond it. */
typedef struct {
	uint8_t *buf;
	size_t cap;
	size_t start, end;  /* unread bytes are buf[start..end) */
	bool hunting;	    /* skipping to the next HELLO header (virtio-serial resync) */
	uint64_t discarded; /* bytes skipped while hunting */
} sva_reader;

void sva_reader_init(sva_reader *r, uint8_t *buf, size_t cap);

/* Where to read() the next bytes into, and how many fit (0 when a
 * complete frame must be taken out first). */
uint8_t *sva_reader_space(sva_reader *r, size_t *avail);
/* n bytes were written at sva_reader_space(). */
void sva_reader_commit(sva_reader *r, size_t n);
/* Copies bytes in; returns how many were taken (less than len when the
 * buffer is full: take frames out, then feed the rest). */
size_t sva_reader_feed(sva_reader *r, const void *data, size_t len);

/* The next frame: 1 with *f (its payload points into the buffer, valid
 * until the next call on r), 0 when more bytes are needed, -1 on a header
 * that is not valid (the reader stays in error until reset or hunting). */
int sva_reader_next(sva_reader *r, sva_frame *f);

/* From now on, skips bytes until a plausible HELLO header (type HELLO,
 * channel 0, reserved 0, length at most 4096) and resumes there. */
void sva_reader_hunt(sva_reader *r);
/* Forgets everything buffered. */
void sva_reader_reset(sva_reader *r);

/* ---- flow control (§5) ---- */

/* The sending side of a channel: bytes it may still send. */
typedef struct {
	uint64_t credit;
} sva_send_window;

/* How many of want bytes may go now (and takes them). */
size_t sva_send_take(sva_send_window *w, size_t want);
/* A WINDOW arrived. -1 when it would grant more than SVA_MAX_WINDOW beyond
 * what is outstanding (a peer that has lost count). */
int sva_send_grant(sva_send_window *w, uint32_t bytes);

/* The receiving side: what the peer may still send, and what was handed
 * on but not yet granted back. */
typedef struct {
	uint64_t allowed;
	uint64_t consumed;
	uint32_t window;
} sva_recv_window;

void sva_recv_init(sva_recv_window *w, uint32_t window);
/* n data bytes arrived: -1 when that is more than the peer was allowed. */
int sva_recv_arrived(sva_recv_window *w, size_t n);
/* n bytes were handed on (written out). Returns the credit to send in a
 * WINDOW now (0: not yet — grants are batched to a quarter window). */
uint32_t sva_recv_consumed(sva_recv_window *w, size_t n);

#endif
