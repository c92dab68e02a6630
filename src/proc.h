/* proc.h: run a command (a shell line or an argv) to completion on a private libuv loop. No Lua here. */
#ifndef CCCHEF_PROC_H
#define CCCHEF_PROC_H

#include <stddef.h>
#include <sys/types.h>

struct proc_spec {
	const char *command;  /* given to /bin/sh -c, when argv is NULL */
	char **argv;          /* else this, no shell: argv[0] found in PATH as execvp does */
	const char *cwd;      /* NULL: ours */
	char **env;           /* NULL: ours; else "K=V" strings, NULL-terminated */
	int set_user;         /* run as uid/gid below */
	uid_t uid;
	gid_t gid;
	double timeout;       /* seconds; 0: none */
	size_t max_output;    /* keep at most this many bytes (the end); 0: 1 MiB */
	int stream_fd;        /* >= 0: also copy output there as it arrives */
	const char *stream_prefix; /* put before each streamed line */
	int discard_stderr;   /* stderr to /dev/null: output is stdout alone */
};

struct proc_result {
	int exit_status;   /* valid when term_signal == 0 */
	int term_signal;
	int timed_out;     /* killed by us after spec->timeout */
	int truncated;     /* output lost its beginning to max_output */
	char *output;      /* stdout and stderr interleaved, NUL-terminated */
	size_t output_len;
};

/* Run spec->command (or spec->argv) with stdin on /dev/null, in a new session (no
 * controlling terminal: a command that prompts gets EOF, it cannot hang us),
 * stdout and stderr to an unlinked temporary file (so it outlives us if we
 * are killed; proc.c says why), or stderr to /dev/null (discard_stderr).
 * On timeout the whole process group is killed. Returns 0 when the command
 * ran (whatever its status), or a negative libuv error when it could not be
 * started; res->output is then the reason. Free with proc_result_free. */
int proc_run(const struct proc_spec *spec, struct proc_result *res);
void proc_result_free(struct proc_result *res);

/* Signals for the whole process, set once from main: SIGPIPE ignored, and
 * in the runner SIGHUP too. */
void proc_signals_init(int runner);
/* From the start of a converge: SIGTERM, SIGINT and SIGHUP (unless
 * ignored) are only recorded, for the engine to stop between two
 * resources; a second SIGINT or SIGTERM kills at once. */
void proc_catch_interrupts(void);
/* The signal that asked us to stop, or 0. */
int proc_interrupted(void);

#endif
