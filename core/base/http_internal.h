/*
 * http_internal.h - the response-header reader of http.c, for its fuzz
 * target.  Private to core/base/.
 *
 * Owns: nothing.
 * Thread safety: reentrant (one response per caller).
 * Signal safety: none.
 */
#ifndef CG_HTTP_INTERNAL_H
#define CG_HTTP_INTERNAL_H

#include "core/base/http.h"

#include <stddef.h>

/* Reads one raw header line as libcurl hands it over (`n` bytes, not
 * NUL-terminated, CRLF included) into r's Date, x-amzn-ErrorType and
 * x-amz-retry-after fields; a status line ("HTTP/…") clears them. */
void cg_http_header_line(const char *data, size_t n, struct cg_http_response *r);

#endif
