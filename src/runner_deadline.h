/* runner_deadline.h: `ccchef-runner --deadline SECONDS ...` (see
 * runner_deadline.c). */
#ifndef CCCHEF_RUNNER_DEADLINE_H
#define CCCHEF_RUNNER_DEADLINE_H

/* With --deadline SECONDS first in argv: forks; the child returns, the two
 * arguments taken out of argc/argv, and runs as usual; this process stays
 * the watchdog and never returns (it exits with the child's status, or
 * 124 when the deadline stopped it). Without: returns at once. A bad
 * value: a message and exit 2. */
void runner_deadline(int *argc, char **argv);

#endif
