/* test_poolconn -- checks of windows/poolconn_win32.c for test_winlib. */
#ifndef TP_TEST_POOLCONN_H
#define TP_TEST_POOLCONN_H

/* path: a pipe the fake daemon serves; a PING from hangup makes it close
 * the connection. */
void test_poolconn(const char *path, const char *hangup,
		   void (*check)(const char *, int));

#endif
