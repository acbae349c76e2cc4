/*
 * credentials.c - copying, wiping and the time formats of AWS credentials.
 */
#include "sts/credentials.h"

#include "core/base/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void wipe_free(char **s)
{
    if (*s) {
        explicit_bzero(*s, strlen(*s));
        free(*s);
        *s = NULL;
    }
}

void cg_credentials_clear(struct cg_credentials *c)
{
    if (!c)
        return;
    wipe_free(&c->access_key_id);
    wipe_free(&c->secret_access_key);
    wipe_free(&c->session_token);
    free(c->arn);
    c->arn = NULL;
    c->expiration = 0;
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
    if (!access_key_id || !*access_key_id || !secret_access_key || !*secret_access_key)
        return CG_EINVAL;
    c->access_key_id = strdup(access_key_id);
    c->secret_access_key = strdup(secret_access_key);
    if (session_token && *session_token)
        c->session_token = strdup(session_token);
    c->expiration = expiration;
    if (!c->access_key_id || !c->secret_access_key ||
        (session_token && *session_token && !c->session_token)) {
        cg_credentials_clear(c);
        return CG_ENOMEM;
    }
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
