/*
 * sign_log.c - mask and log SigV4 stages at debug level.
 *
 * DESIGN: the canonical request carries the session token (header
 * "x-amz-security-token:" or query "X-Amz-Security-Token="); it is
 * replaced with "<redacted>" before logging.  Each stage is logged line
 * by line so the one-line-per-event log format holds.
 */
#include "sts/sign_log.h"

#include "core/base/log.h"
#include "sigv4/sigv4.h"

#include <stdbool.h>
#include "sts/sign_log_internal.h"

#include <stdlib.h>
#include <string.h>

/* Copy of s with the value after each marker (to the end of the line or
 * the next '&') replaced by <redacted>. */
char *cg_sign_log_mask(const char *s)
{
    static const char *const markers[] = {"x-amz-security-token:", "X-Amz-Security-Token="};
    size_t len = strlen(s);
    /* Each marker is at least 21 bytes and adds at most 10 ("<redacted>"),
     * so the output is shorter than 2 * len + 16. */
    char *out = malloc(2 * len + 16);
    if (!out)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < len;) {
        bool hit = false;
        for (size_t m = 0; m < 2 && !hit; m++) {
            size_t ml = strlen(markers[m]);
            if (strncmp(s + i, markers[m], ml) != 0)
                continue;
            memcpy(out + w, s + i, ml);
            w += ml;
            i += ml;
            while (i < len && s[i] != '\n' && s[i] != '&')
                i++;
            memcpy(out + w, "<redacted>", 10);
            w += 10;
            hit = true;
        }
        if (!hit)
            out[w++] = s[i++];
    }
    out[w] = '\0';
    return out;
}

static void log_lines(const char *what, const char *stage, const char *text)
{
    char *masked = cg_sign_log_mask(text);
    if (!masked)
        return;
    CG_DEBUG("%s: %s:", what, stage);
    char *save = NULL;
    for (char *line = strtok_r(masked, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        CG_DEBUG("%s:   %s", what, line);
    free(masked);
}

void cg_sign_log_debug(const char *what, const struct sigv4_result *r)
{
    if (!cg_log_enabled(CG_LOG_DEBUG) || !r->canonical_request)
        return;
    log_lines(what, "canonical request", r->canonical_request);
    log_lines(what, "string to sign", r->string_to_sign);
}
