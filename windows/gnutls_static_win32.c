/* gnutls_static_win32 -- linking GnuTLS statically on Windows: its
 * header declares the allocator variables (gnutls_free, ...) dllimport,
 * so the daemon's objects refer to __imp_gnutls_free, which only the DLL's
 * import library would define.  These are those pointers, aimed at the
 * variables in the static archive.  (Deliberately without gnutls.h.) */
extern char gnutls_malloc, gnutls_realloc, gnutls_calloc, gnutls_free,
	gnutls_strdup;

void *__imp_gnutls_malloc = &gnutls_malloc;
void *__imp_gnutls_realloc = &gnutls_realloc;
void *__imp_gnutls_calloc = &gnutls_calloc;
void *__imp_gnutls_free = &gnutls_free;
void *__imp_gnutls_strdup = &gnutls_strdup;
