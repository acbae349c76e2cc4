/*
 * http_header_fuzz.c - libFuzzer over the response-header callback
 * (core/base/http.c): each input line, CRLF and all, is handed over as
 * libcurl does (a pointer and a length, no NUL), in a buffer of exactly
 * that size.  The fields it fills stay NUL-terminated and bounded.
 */
#include "core/base/http_internal.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cg_http_response r;
    memset(&r, 0, sizeof(r));
    const uint8_t *p = data, *end = data + size;
    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        char *line = fuzz_copy(p, len);
        if (!line)
            return 0;
        cg_http_header_line(line, len, &r);
        free(line);
        if (memchr(r.date, 0, sizeof(r.date)) == NULL ||
            memchr(r.amzn_error_type, 0, sizeof(r.amzn_error_type)) == NULL ||
            strchr(r.amzn_error_type, ':') || r.retry_after_ms > 600000)
            abort();
        p += len;
    }
    return 0;
}
