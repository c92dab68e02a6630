/* test_proc.c: child processes: status, output, stdin closed, timeouts,
 * output order, commands that outlive a killed ccchef, argv without a shell. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

/* An argv runs without a shell: a word with spaces and shell syntax is
 * one argument, never interpreted; the program is found in PATH. */
static void test_argv_no_shell(void)
{
	char *argv[] = {(char *)"printf", (char *)"[%s]\\n", (char *)"a b; echo $HOME", (char *)"`id`", NULL};
	struct proc_spec spec = {.argv = argv, .stream_fd = -1};
	struct proc_result res;
	ASSERT_INT_EQ(proc_run(&spec, &res), 0);
	ASSERT_INT_EQ(res.exit_status, 0);
	ASSERT_STR_EQ(res.output, "[a b; echo $HOME]\n[`id`]\n");
	proc_result_free(&res);
}

static void test_argv_status_env_cwd(void)
{
	char *argv[] = {(char *)"sh", (char *)"-c", (char *)"echo $GREETING; pwd; exit 4", NULL};
	char *env[] = {(char *)"GREETING=hi", (char *)"PATH=/usr/bin:/bin", NULL};
	struct proc_spec spec = {.argv = argv, .env = env, .cwd = "/tmp", .stream_fd = -1};
	struct proc_result res;
	ASSERT_INT_EQ(proc_run(&spec, &res), 0);
	ASSERT_INT_EQ(res.exit_status, 4);
	ASSERT_STR_EQ(res.output, "hi\n/tmp\n");
	proc_result_free(&res);
}

/* discard_stderr: the output is stdout alone, and the command's writes to
 * stderr succeed (it is /dev/null, not closed). */
static void test_argv_discard_stderr(void)
{
	char *argv[] = {(char *)"sh", (char *)"-c", (char *)"echo out; echo err >&2 && echo wrote; exit 1", NULL};
	struct proc_spec spec = {.argv = argv, .stream_fd = -1, .discard_stderr = 1};
	struct proc_result res;
	ASSERT_INT_EQ(proc_run(&spec, &res), 0);
	ASSERT_INT_EQ(res.exit_status, 1);
	ASSERT_STR_EQ(res.output, "out\nwrote\n");
	proc_result_free(&res);
}

/* A program that does not exist is a failure to start (-ENOENT), and the
 * reason names the program. */
static void test_argv_missing_program(void)
{
	char *argv[] = {(char *)"ccchef-no-such-program", NULL};
	struct proc_spec spec = {.argv = argv, .stream_fd = -1};
	struct proc_result res;
	ASSERT_INT_EQ(proc_run(&spec, &res), -ENOENT);
	ASSERT_STR_CONTAINS(res.output, "ccchef-no-such-program: ");
	proc_result_free(&res);
}

/* stdout and stderr share one file: the output keeps the order in which
 * the command wrote it. */
static void test_output_in_write_order(void)
{
	struct proc_spec spec = {.command = "echo 1; echo 2 >&2; echo 3; echo 4 >&2", .stream_fd = -1};
	struct proc_result res;
	ASSERT_INT_EQ(proc_run(&spec, &res), 0);
	ASSERT_STR_EQ(res.output, "1\n2\n3\n4\n");
	proc_result_free(&res);
}

static int wait_file(const char *path, double seconds)
{
	struct stat st;
	for (double t0 = now(); now() - t0 < seconds;) {
		if (stat(path, &st) == 0)
			return 1;
		usleep(20000);
	}
	return 0;
}

/* The process running proc_run (ccchef) is killed with SIGKILL while its
 * command runs; the command then writes a lot of output, and still runs to
 * its end (a pipe would have killed it with SIGPIPE at its first write). */
static void test_command_outlives_killed_parent(void)
{
	char dir[] = "/tmp/test_proc.XXXXXX";
	ASSERT_TRUE(mkdtemp(dir) != NULL);
	char cmd[512], started[128], go[128], done[128];
	snprintf(started, sizeof started, "%s/started", dir);
	snprintf(go, sizeof go, "%s/go", dir);
	snprintf(done, sizeof done, "%s/done", dir);
	snprintf(cmd, sizeof cmd,
		 "touch %s; n=0; while [ ! -e %s ] && [ $n -lt 500 ]; do sleep 0.02; n=$((n+1)); done;"
		 " seq 1 100000; seq 1 1000 >&2; touch %s",
		 started, go, done);
	pid_t pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		struct proc_spec spec = {.command = cmd, .stream_fd = -1, .timeout = 30};
		struct proc_result res;
		proc_run(&spec, &res);
		_exit(0);
	}
	int ok = wait_file(started, 10);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	FILE *f = fopen(go, "w");
	if (f)
		fclose(f);
	int finished = ok && wait_file(done, 15);
	unlink(started);
	unlink(go);
	unlink(done);
	rmdir(dir);
	ASSERT_TRUE(ok);
	ASSERT_TRUE(finished);
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
	RUN(test_output_in_write_order);
	RUN(test_argv_no_shell);
	RUN(test_argv_status_env_cwd);
	RUN(test_argv_discard_stderr);
	RUN(test_argv_missing_program);
	RUN(test_command_outlives_killed_parent);
	return TEST_EXIT();
}
