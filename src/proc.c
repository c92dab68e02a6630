/*
 * proc.c: child processes for execute, guards and providers. One private
 * uv_loop_t per call keeps each run independent of any other loop (the
 * remote controller's fan-out loop included).
 *
 * A command's stdout and stderr go to one unlinked temporary file, not to
 * pipes, and ccchef reads that file back. Why: a pipe ties the command's
 * life to ours. If ccchef is killed (kill -9, OOM, a dropped SSH session),
 * the command's next write to a pipe nobody reads kills it with SIGPIPE,
 * half-way through e.g. a dpkg run. Writes to a file always succeed, so a
 * command started by a run that dies runs to its end. It also means a
 * daemon the command starts cannot keep us waiting on its end of a pipe,
 * and stdout and stderr interleave in the order they were written (one
 * shared file offset). Disk use stays bounded while we read: what has been
 * read is punched out of the file.
 *
 * The signal flag lives here as well: the engine asks it between two
 * resources (proc_interrupted) while a command runs to its end.
 */
/* O_TMPFILE and fallocate need _GNU_SOURCE, which meson.build defines. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "proc.h"

#define DEFAULT_MAX_OUTPUT (1u << 20)
/* How often the output file is read while the command runs: often when it
 * is shown live, rarely otherwise (only to free the disk space it holds). */
#define POLL_STREAM_MS 50
#define POLL_QUIET_MS 1000

struct run {
	uv_loop_t loop;
	uv_process_t process;
	uv_timer_t timeout, poll;
	const struct proc_spec *spec;
	struct proc_result *res;
	int fd;          /* the output file */
	off_t read_off;  /* how much of it we have consumed */
	size_t cap, max;
	int at_line_start;
	char readbuf[65536];
};

static void append(struct run *run, const char *data, size_t len)
{
	struct proc_result *res = run->res;
	if (len >= run->max) {
		data += len - run->max;
		len = run->max;
	}
	if (res->output_len + len > run->max) {
		/* Keep the end: it holds the error that matters. */
		size_t drop = res->output_len + len - run->max;
		memmove(res->output, res->output + drop, res->output_len - drop);
		res->output_len -= drop;
		res->truncated = 1;
	}
	if (res->output_len + len + 1 > run->cap) {
		size_t cap = run->cap ? run->cap : 4096;
		while (cap < res->output_len + len + 1)
			cap *= 2;
		char *p = realloc(res->output, cap);
		if (p == NULL)
			return; /* keep what we have; output is diagnostic only */
		res->output = p;
		run->cap = cap;
	}
	memcpy(res->output + res->output_len, data, len);
	res->output_len += len;
	res->output[res->output_len] = '\0';
}

/* A write error (EPIPE: whoever reads our stderr went away; SIGPIPE is
 * ignored) only stops the live copy; the command and the run go on. */
static void stream(struct run *run, const char *data, size_t len)
{
	int fd = run->spec->stream_fd;
	const char *prefix = run->spec->stream_prefix ? run->spec->stream_prefix : "";
	size_t plen = strlen(prefix);
	while (len > 0) {
		if (run->at_line_start && plen && write(fd, prefix, plen) < 0)
			return;
		const char *nl = memchr(data, '\n', len);
		size_t chunk = nl ? (size_t)(nl - data) + 1 : len;
		if (write(fd, data, chunk) < 0)
			return;
		run->at_line_start = nl != NULL;
		data += chunk;
		len -= chunk;
	}
}

/* Consume what the command wrote since the last call. Unless it is shown
 * live, output beyond what is kept (the last max bytes) is skipped, not
 * read; then the consumed part of the file is given back to the file
 * system (best effort: not every file system can punch holes). */
static void drain(struct run *run)
{
	struct stat st;
	if (fstat(run->fd, &st) != 0)
		return;
	if (run->spec->stream_fd < 0 && st.st_size - run->read_off > (off_t)run->max) {
		run->read_off = st.st_size - (off_t)run->max;
		run->res->output_len = 0;
		run->res->truncated = 1;
	}
	for (;;) {
		ssize_t n = pread(run->fd, run->readbuf, sizeof run->readbuf, run->read_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		run->read_off += n;
		append(run, run->readbuf, (size_t)n);
		if (run->spec->stream_fd >= 0)
			stream(run, run->readbuf, (size_t)n);
	}
	off_t done = run->read_off & ~(off_t)4095;
	if (done > 0)
		(void)fallocate(run->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, done);
}

static void on_poll(uv_timer_t *t)
{
	drain(t->data);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
	struct run *run = p->data;
	run->res->exit_status = (int)status;
	run->res->term_signal = sig;
	uv_timer_stop(&run->timeout);
	uv_timer_stop(&run->poll);
	uv_close((uv_handle_t *)p, NULL);
	/* What a daemon it started writes from now on stays unread: the file
	 * goes away when the last descriptor on it is closed. */
	drain(run);
}

static void on_timeout(uv_timer_t *t)
{
	struct run *run = t->data;
	run->res->timed_out = 1;
	/* The child leads its own session, so -pid reaches everything it started. */
	uv_kill(-run->process.pid, SIGKILL);
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* An unlinked file nobody else can open: O_TMPFILE, or where the file
 * system lacks it, a mkstemp name removed at once; in /tmp, else in the
 * next directory that takes it. */
static int output_file(void)
{
	static const char *const dirs[] = {"/tmp", "/var/tmp", "/dev/shm"};
	int err = ENOENT;
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		int fd = open(dirs[i], O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		char name[64];
		snprintf(name, sizeof name, "%s/.ccchef-output-XXXXXX", dirs[i]);
		fd = mkostemp(name, O_CLOEXEC);
		if (fd >= 0) {
			unlink(name);
			return fd;
		}
		err = errno;
	}
	return -err;
}

int proc_run(const struct proc_spec *spec, struct proc_result *res)
{
	memset(res, 0, sizeof *res);
	struct run *run = calloc(1, sizeof *run);
	if (run == NULL)
		return UV_ENOMEM;
	run->spec = spec;
	run->res = res;
	run->max = spec->max_output ? spec->max_output : DEFAULT_MAX_OUTPUT;
	run->at_line_start = 1;
	run->fd = output_file();
	int r = run->fd;
	if (r < 0) {
		const char *msg = "cannot create a temporary file for the command's output (/tmp, /var/tmp, /dev/shm): ";
		append(run, msg, strlen(msg));
		append(run, uv_strerror(r), strlen(uv_strerror(r)));
		free(run);
		return r;
	}
	r = uv_loop_init(&run->loop);
	if (r != 0) {
		close(run->fd);
		free(run);
		return r;
	}
	uv_timer_init(&run->loop, &run->timeout);
	uv_timer_init(&run->loop, &run->poll);
	run->timeout.data = run->poll.data = run;
	run->process.data = run;

	char *shell[] = {(char *)"/bin/sh", (char *)"-c", (char *)spec->command, NULL};
	char **args = spec->argv ? spec->argv : shell;
	uv_stdio_container_t stdio[3] = {
		{.flags = UV_IGNORE},
		{.flags = UV_INHERIT_FD, .data.fd = run->fd},
		{.flags = UV_INHERIT_FD, .data.fd = run->fd},
	};
	/* libuv gives an ignored standard descriptor /dev/null, so a command
	 * writing to it still succeeds. */
	if (spec->discard_stderr)
		stdio[2] = (uv_stdio_container_t){.flags = UV_IGNORE};
	uv_process_options_t opts = {
		.exit_cb = on_exit_cb,
		.file = args[0],
		.args = args,
		.env = spec->env,
		.cwd = spec->cwd,
		.flags = UV_PROCESS_DETACHED,
		.stdio_count = 3,
		.stdio = stdio,
	};
	if (spec->set_user) {
		opts.flags |= UV_PROCESS_SETUID | UV_PROCESS_SETGID;
		opts.uid = spec->uid;
		opts.gid = spec->gid;
	}
	r = uv_spawn(&run->loop, &run->process, &opts);
	if (r != 0) {
		/* An argv names its program: "git: no such file or directory". */
		if (spec->argv) {
			append(run, args[0], strlen(args[0]));
			append(run, ": ", 2);
		}
		const char *msg = uv_strerror(r);
		append(run, msg, strlen(msg));
	} else {
		uint64_t every = spec->stream_fd >= 0 ? POLL_STREAM_MS : POLL_QUIET_MS;
		uv_timer_start(&run->poll, on_poll, every, every);
		if (spec->timeout > 0)
			uv_timer_start(&run->timeout, on_timeout, (uint64_t)(spec->timeout * 1000), 0);
		uv_run(&run->loop, UV_RUN_DEFAULT);
	}
	uv_walk(&run->loop, close_walk, NULL);
	uv_run(&run->loop, UV_RUN_DEFAULT);
	uv_loop_close(&run->loop);
	close(run->fd);
	if (res->output == NULL) {
		res->output = calloc(1, 1);
		res->output_len = 0;
	}
	free(run);
	return r;
}

void proc_result_free(struct proc_result *res)
{
	free(res->output);
	res->output = NULL;
	res->output_len = 0;
}

/* Signals: 0 until SIGTERM, SIGINT or SIGHUP arrives, then that signal. */
static volatile sig_atomic_t interrupt_signal;

static void on_interrupt(int sig)
{
	/* A second Ctrl-C (or a second SIGTERM: `kill` twice) means "now": die
	 * of it, as if never caught. The journal of pending notifications is
	 * already on disk. */
	if (interrupt_signal != 0 && (sig == SIGINT || sig == SIGTERM)) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	if (interrupt_signal == 0)
		interrupt_signal = sig;
}

void proc_signals_init(int runner)
{
	/* A reader that went away (a closed pipe on stdout, a dropped SSH
	 * session) becomes EPIPE on that write, not the death of the run.
	 * Children get the default back (libuv resets dispositions on spawn). */
	signal(SIGPIPE, SIG_IGN);
	/* The runner's controller going away is not a reason to stop: it
	 * finishes the run and records it in last-run.json. */
	if (runner)
		signal(SIGHUP, SIG_IGN);
}

void proc_catch_interrupts(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_interrupt;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		/* An ignored signal stays ignored (nohup, the runner's SIGHUP). */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

int proc_interrupted(void)
{
	return interrupt_signal;
}
