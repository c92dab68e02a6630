/* test.h: a minimal typed-assert harness for the C unit tests. Each test
 * file is its own executable; main() calls RUN(test_fn) for each test. */
#ifndef CCCHEF_TEST_H
#define CCCHEF_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures;

#define FAIL_AT(...) do { \
	fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); \
	fprintf(stderr, __VA_ARGS__); \
	fputc('\n', stderr); \
	test_failures++; \
	return; \
} while (0)

#define ASSERT_TRUE(c) do { if (!(c)) FAIL_AT("expected true: %s", #c); } while (0)
#define ASSERT_INT_EQ(a, b) do { \
	long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) FAIL_AT("%s == %s: %lld != %lld", #a, #b, a_, b_); \
} while (0)
#define ASSERT_STR_EQ(a, b) do { \
	const char *a_ = (a), *b_ = (b); \
	if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) \
		FAIL_AT("%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
} while (0)
#define ASSERT_STR_CONTAINS(h, n) do { \
	const char *h_ = (h), *n_ = (n); \
	if (h_ == NULL || strstr(h_, n_) == NULL) \
		FAIL_AT("%s contains \"%s\": got \"%s\"", #h, n_, h_ ? h_ : "(null)"); \
} while (0)

#define RUN(fn) do { \
	int before_ = test_failures; \
	fn(); \
	printf("%s %s\n", test_failures == before_ ? "ok  " : "FAIL", #fn); \
} while (0)

#define TEST_EXIT() (test_failures ? EXIT_FAILURE : EXIT_SUCCESS)

#endif
