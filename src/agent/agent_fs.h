/* Requests on a guest's files over an open agent connection, shared by
 * the calls in agent_fs.c and the copies (agent_copy_*.c). */
#ifndef SV_AGENT_AGENT_FS_H
#define SV_AGENT_AGENT_FS_H

#include "agent/agent_client.h"

/* A FILE_INFO, checked. */
typedef struct {
	uint32_t type; /* SVA_FT_* */
	uint32_t mode, uid, gid;
	uint64_t size;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	bool has_link;
	char link[4097];
} sva_fs_info;

/* The guest's ERROR as a smartvm error: `VM "x": <what>: <message> (guest
 * errno N)`, SV_ENOTFOUND for ENOENT, SV_EEXISTS for EEXIST, else SV_EIO. */
int sva_fs_error(sva_client *c, const char *what, const sva_frame *f);

/* The next frame on channel ch (others are skipped); an ERROR becomes the
 * error above, a lost connection SV_EPROCESS. */
int sva_fs_answer(sva_client *c, const char *what, uint32_t ch, sva_frame *f);

int sva_fs_parse_info(sva_client *c, const char *what, const sva_frame *f, sva_fs_info *info);
int sva_fs_stat(sva_client *c, const char *what, const char *path, bool follow, sva_fs_info *info);
int sva_fs_mkdir(sva_client *c, const char *what, const char *path, uint32_t mode, uint32_t uid, uint32_t gid,
		 bool parents);

#endif
