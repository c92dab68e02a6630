/*
 * proc.c: child processes for execute, guards and providers. One private
 * uv_loop_t per call keeps each run independent of any other loop (the
 * remote controller's fan-out loop included).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "proc.h"

#define DEFAULT_MAX_OUTPUT (1u << 20)
/* After the command exits, its pipes may still be held open by a daemon it
 * started; wait this long for the rest of the output, then stop reading. */
#define PIPE_GRACE_MS 200

struct run {
	uv_loop_t loop;
	uv_process_t process;
	uv_pipe_t out, err;
	uv_timer_t timeout, grace;
	const struct proc_spec *spec;
	struct proc_result *res;
	size_t cap, max;
	int open_pipes;
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

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct run *run = h->data;
	(void)suggested;
	*buf = uv_buf_init(run->readbuf, sizeof run->readbuf);
}

static void on_close_pipe(uv_handle_t *h)
{
	struct run *run = h->data;
	if (--run->open_pipes == 0 && !uv_is_closing((uv_handle_t *)&run->grace) &&
	    uv_is_active((uv_handle_t *)&run->grace))
		uv_timer_stop(&run->grace);
}

static void close_if_open(uv_handle_t *h, uv_close_cb cb)
{
	if (!uv_is_closing(h))
		uv_close(h, cb);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct run *run = s->data;
	if (n > 0) {
		append(run, buf->base, (size_t)n);
		if (run->spec->stream_fd >= 0)
			stream(run, buf->base, (size_t)n);
	} else if (n < 0) {
		close_if_open((uv_handle_t *)s, on_close_pipe);
	}
}

static void on_grace(uv_timer_t *t)
{
	struct run *run = t->data;
	close_if_open((uv_handle_t *)&run->out, on_close_pipe);
	close_if_open((uv_handle_t *)&run->err, on_close_pipe);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
	struct run *run = p->data;
	run->res->exit_status = (int)status;
	run->res->term_signal = sig;
	uv_timer_stop(&run->timeout);
	uv_close((uv_handle_t *)p, NULL);
	if (run->open_pipes > 0)
		uv_timer_start(&run->grace, on_grace, PIPE_GRACE_MS, 0);
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
	int r = uv_loop_init(&run->loop);
	if (r != 0) {
		free(run);
		return r;
	}
	uv_pipe_init(&run->loop, &run->out, 0);
	uv_pipe_init(&run->loop, &run->err, 0);
	uv_timer_init(&run->loop, &run->timeout);
	uv_timer_init(&run->loop, &run->grace);
	run->out.data = run->err.data = run->timeout.data = run->grace.data = run;
	run->process.data = run;

	char *args[] = {(char *)"/bin/sh", (char *)"-c", (char *)spec->command, NULL};
	uv_stdio_container_t stdio[3] = {
		{.flags = UV_IGNORE},
		{.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&run->out},
		{.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&run->err},
	};
	uv_process_options_t opts = {
		.exit_cb = on_exit_cb,
		.file = "/bin/sh",
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
		const char *msg = uv_strerror(r);
		append(run, msg, strlen(msg));
	} else {
		run->open_pipes = 2;
		uv_read_start((uv_stream_t *)&run->out, on_alloc, on_read);
		uv_read_start((uv_stream_t *)&run->err, on_alloc, on_read);
		if (spec->timeout > 0)
			uv_timer_start(&run->timeout, on_timeout, (uint64_t)(spec->timeout * 1000), 0);
		uv_run(&run->loop, UV_RUN_DEFAULT);
	}
	uv_walk(&run->loop, close_walk, NULL);
	uv_run(&run->loop, UV_RUN_DEFAULT);
	uv_loop_close(&run->loop);
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
