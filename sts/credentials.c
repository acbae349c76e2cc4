/*
 * credentials.c - copying, wiping and the time formats of AWS credentials.
 *
 * DESIGN: the secret access key and the session token of each set of
 * credentials share one anonymous mapping, rounded up to whole pages and
 * marked MADV_DONTDUMP: the agent keeps credentials for an hour or more
 * inside someone else's process, and that process's core dumps (abrt,
 * systemd-coredump, a support bundle) should not carry them.  A page of
 * its own is the only way to get that: madvise works on pages, and heap
 * pages are shared with the host program's data.  A mapping per set costs
 * one mmap and one munmap per copy; credentials are copied a few times
 * per upload, not per sample.  The pages are wiped before munmap (the
 * kernel hands freed pages out zeroed, but this keeps the rule "wipe
 * before release" true everywhere, and a page may linger in a swap slot).
 *
 * What it won't do: mlock the pages (RLIMIT_MEMLOCK belongs to the host
 * program; swap is covered in docs/security.md), or protect them with
 * PROT_NONE between uses.
 */
#include "sts/credentials.h"

#include "core/base/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

static void wipe_free(char **s)
{
    if (*s) {
        explicit_bzero(*s, strlen(*s));
        free(*s);
        *s = NULL;
    }
}

/* Maps `size` bytes (rounded up to pages) excluded from core dumps.
 * Returns the zeroed mapping and its size, or NULL. */
static void *secret_pages_map(size_t size, size_t *mapped)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t p = page > 0 ? (size_t)page : 4096;
    size_t n = (size + p - 1) / p * p;
    void *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    /* Best effort: before Linux 3.4 (EINVAL) the secret is still wiped. */
    madvise(m, n, MADV_DONTDUMP);
    *mapped = n;
    return m;
}

void cg_credentials_clear(struct cg_credentials *c)
{
    if (!c)
        return;
    wipe_free(&c->access_key_id);
    if (c->secret_pages) {
        explicit_bzero(c->secret_pages, c->secret_pages_size);
        munmap(c->secret_pages, c->secret_pages_size);
    }
    c->secret_pages = NULL;
    c->secret_pages_size = 0;
    c->secret_access_key = NULL;
    c->session_token = NULL;
    free(c->arn);
    c->arn = NULL;
    c->expiration = 0;
}

bool cg_credentials_header_safe(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

bool cg_credentials_valid(const struct cg_credentials *c)
{
    return c && c->access_key_id && c->access_key_id[0] && c->secret_access_key &&
           c->secret_access_key[0];
}

int cg_credentials_set(struct cg_credentials *c, const char *access_key_id,
                       const char *secret_access_key, const char *session_token,
                       int64_t expiration)
{
    cg_credentials_clear(c);
    if (!access_key_id || !*access_key_id || !secret_access_key || !*secret_access_key ||
        !cg_credentials_header_safe(access_key_id) ||
        !cg_credentials_header_safe(secret_access_key) || !cg_credentials_header_safe(session_token))
        return CG_EINVAL; /* the sources say why first */
    size_t sl = strlen(secret_access_key) + 1;
    size_t tl = session_token && *session_token ? strlen(session_token) + 1 : 0;
    c->access_key_id = strdup(access_key_id);
    c->secret_pages = secret_pages_map(sl + tl, &c->secret_pages_size);
    if (!c->access_key_id || !c->secret_pages) {
        cg_credentials_clear(c);
        return CG_ENOMEM;
    }
    /* secret\0token\0 */
    c->secret_access_key = c->secret_pages;
    memcpy(c->secret_access_key, secret_access_key, sl);
    if (tl) {
        c->session_token = c->secret_access_key + sl;
        memcpy(c->session_token, session_token, tl);
    }
    c->expiration = expiration;
    return 0;
}

int cg_credentials_copy(struct cg_credentials *dst, const struct cg_credentials *src)
{
    int rc = cg_credentials_set(dst, src->access_key_id, src->secret_access_key,
                                src->session_token, src->expiration);
    if (rc == 0 && src->arn && !(dst->arn = strdup(src->arn))) {
        cg_credentials_clear(dst);
        return CG_ENOMEM;
    }
    return rc;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (no timegm: it reads
 * the TZ environment on some libcs and is not needed for UTC). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool fields_ok(int y, int mo, int d, int h, int mi, int s)
{
    return y >= 1970 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 &&
           h <= 23 && mi >= 0 && mi <= 59 && s >= 0 && s <= 60;
}

int cg_parse_iso8601(const char *text, int64_t *epoch)
{
    int y, mo, d, h, mi, s, n = 0;
    if (!text || sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) != 6 ||
        n != 19 || !fields_ok(y, mo, d, h, mi, s))
        return CG_EPARSE;
    const char *p = text + n;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return CG_EPARSE;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (!(strcmp(p, "Z") == 0 || strcmp(p, "+00:00") == 0 || strcmp(p, "z") == 0))
        return CG_EPARSE;
    *epoch = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s;
    return 0;
}

int cg_parse_http_date(const char *text, int64_t *epoch)
{
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char wday[4], mon[4], zone[4];
    int d, y, h, mi, s, n = 0;
    if (!text ||
        sscanf(text, "%3s, %2d %3s %4d %2d:%2d:%2d %3s%n", wday, &d, mon, &y, &h, &mi, &s,
               zone, &n) != 8 ||
        text[n] != '\0' || strcmp(zone, "GMT") != 0)
        return CG_EPARSE;
    int mo = 0;
    for (int i = 0; i < 12; i++)
        if (strcasecmp(mon, months[i]) == 0)
            mo = i + 1;
    if (!mo || !fields_ok(y, mo, d, h, mi, s))
        return CG_EPARSE;
    *epoch = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s;
    return 0;
}

void cg_format_iso8601(int64_t epoch, char *buf, size_t size)
{
    time_t t = (time_t)epoch;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
