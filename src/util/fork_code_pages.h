/* Code a process shares with the children it forks, mapped in each of them
 * from the start instead of page by page at their first use. */
#ifndef SV_UTIL_FORK_CODE_PAGES_H
#define SV_UTIL_FORK_CODE_PAGES_H

/* For a process that forks many short-lived children (the supervisor fork
 * server): from now on fork copies into every child the mappings this
 * process has of the read-only segments (code, constants) of the program
 * and of every library it has loaded. Without it a child gets none of them
 * and a page fault fills each in again: a forked supervisor took about 40
 * faults of 10-13 us for its code and constants on this machine, about
 * half its faults. Best effort: a step the kernel refuses leaves that
 * segment as it was, and children fault it in as before. */
void sv_fork_code_pages_share(void);

#endif
