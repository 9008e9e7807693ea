/* test_poolconn -- checks of windows/poolconn_win32.c for test_winlib. */
#ifndef TP_TEST_POOLCONN_H
#define TP_TEST_POOLCONN_H

struct poolconn;

/* path: a pipe the daemon serves. */
void test_poolconn(const char *path, void (*check)(const char *, int));
/* A connection (NULL when none) that test_poolconn_hangup_end checks
 * once the daemon is stopped: stale, end of file; it closes it. */
struct poolconn *test_poolconn_hangup_begin(const char *path,
					    void (*check)(const char *, int));
void test_poolconn_hangup_end(struct poolconn *pc,
			      void (*check)(const char *, int));

#endif
