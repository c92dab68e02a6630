/* test_proc.c: child processes: status, output, stdin closed, timeouts. */
#include <stdlib.h>
#include <time.h>

#include "proc.h"
#include "test.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_status_and_output(void)
{
	struct proc_spec spec = {.command = "echo out; echo err >&2; exit 3", .stream_fd = -1};
	struct proc_result res;
	ASSERT_INT_EQ(proc_run(&spec, &res), 0);
	ASSERT_INT_EQ(res.exit_status, 3);
	ASSERT_INT_EQ(res.term_signal, 0);
	ASSERT_STR_CONTAINS(res.output, "out\n");
	ASSERT_STR_CONTAINS(res.output, "err\n");
	proc_result_free(&res);
}

static void test_prompt_gets_eof_not_hang(void)
{
	struct proc_spec spec = {.command = "read answer && echo got:$answer || echo eof", .stream_fd = -1,
				 .timeout = 5};
	struct proc_result res;
	ASSERT_INT_EQ(proc_run(&spec, &res), 0);
	ASSERT_INT_EQ(res.timed_out, 0);
	ASSERT_STR_EQ(res.output, "eof\n");
	proc_result_free(&res);
}

static void test_timeout_kills_process_group(void)
{
	struct proc_spec spec = {.command = "sleep 30 & sleep 30", .stream_fd = -1, .timeout = 0.3};
	struct proc_result res;
	double t0 = now();
	ASSERT_INT_EQ(proc_run(&spec, &res), 0);
	ASSERT_INT_EQ(res.timed_out, 1);
	ASSERT_TRUE(now() - t0 < 5);
	proc_result_free(&res);
}

static void test_env_and_cwd(void)
{
	char *env[] = {(char *)"GREETING=hi", NULL};
	struct proc_spec spec = {.command = "echo $GREETING; pwd", .env = env, .cwd = "/tmp", .stream_fd = -1};
	struct proc_result res;
	ASSERT_INT_EQ(proc_run(&spec, &res), 0);
	ASSERT_STR_EQ(res.output, "hi\n/tmp\n");
	proc_result_free(&res);
}

static void test_output_keeps_the_end(void)
{
	struct proc_spec spec = {.command = "seq 1 100000", .stream_fd = -1, .max_output = 64};
	struct proc_result res;
	ASSERT_INT_EQ(proc_run(&spec, &res), 0);
	ASSERT_INT_EQ(res.truncated, 1);
	ASSERT_TRUE(res.output_len <= 64);
	ASSERT_STR_CONTAINS(res.output, "100000\n");
	proc_result_free(&res);
}

static void test_daemon_holding_pipe_does_not_block(void)
{
	struct proc_spec spec = {.command = "sleep 3 & echo started", .stream_fd = -1, .timeout = 10};
	struct proc_result res;
	double t0 = now();
	ASSERT_INT_EQ(proc_run(&spec, &res), 0);
	ASSERT_TRUE(now() - t0 < 1.5);
	ASSERT_STR_CONTAINS(res.output, "started");
	proc_result_free(&res);
}

static void test_missing_cwd_is_an_error(void)
{
	struct proc_spec spec = {.command = "true", .cwd = "/nonexistent/dir", .stream_fd = -1};
	struct proc_result res;
	ASSERT_TRUE(proc_run(&spec, &res) != 0);
	ASSERT_TRUE(res.output_len > 0);
	proc_result_free(&res);
}

int main(void)
{
	RUN(test_status_and_output);
	RUN(test_prompt_gets_eof_not_hang);
	RUN(test_timeout_kills_process_group);
	RUN(test_env_and_cwd);
	RUN(test_output_keeps_the_end);
	RUN(test_daemon_holding_pipe_does_not_block);
	RUN(test_missing_cwd_is_an_error);
	return TEST_EXIT();
}
