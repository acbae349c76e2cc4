/*
 * sign_log.c - mask and log SigV4 stages at debug level.
 *
 * DESIGN: the canonical request carries the session token (header
 * "x-amz-security-token:" or query "X-Amz-Security-Token="); it is
 * replaced with "<redacted>" before logging.  Each stage is logged line
 * by line so the one-line-per-event log format holds.
 *
 * The same masking, widened, serves free text: a service's error message
 * may echo the canonical request (InvalidSignatureException does), an
 * Authorization header or a credentials document, so every message the
 * agent quotes goes through cg_sign_log_mask_text first (issue 28, item
 * 3).  It knows secrets by the name in front of them (header, query,
 * JSON or XML) and, with no name, by their shape: a long base64 run.
 */
#include "sts/sign_log.h"
#include "sts/sign_log_internal.h"

#include "core/base/log.h"
#include "sigv4/sigv4.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REDACTED "<redacted>"
#define REDACTED_LEN (sizeof(REDACTED) - 1)

/* The buffer for a masked copy of len bytes: room for twice the input
 * and a NUL, which each masker shows its output stays within (the bounds
 * count on REDACTED's 10 bytes).  NULL when out of memory. */
static char *new_output(size_t len)
{
    return malloc(2 * len + 16);
}

/* Writes REDACTED at out + w; returns the new w. */
static size_t put_redacted(char *out, size_t w)
{
    memcpy(out + w, REDACTED, REDACTED_LEN);
    return w + REDACTED_LEN;
}

/* Copy of s with the value after each marker (to the end of the line or
 * the next '&') replaced by <redacted>. */
char *cg_sign_log_mask(const char *s)
{
    static const char *const markers[] = {"x-amz-security-token:", "X-Amz-Security-Token="};
    size_t len = strlen(s);
    /* Each marker is at least 21 bytes and adds at most 10 ("<redacted>"),
     * so the output is at most twice the input. */
    char *out = new_output(len);
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
            w = put_redacted(out, w);
            hit = true;
        }
        if (!hit)
            out[w++] = s[i++];
    }
    out[w] = '\0';
    return out;
}

/* Names whose value is a secret, matched case-insensitively where no
 * letter or digit comes before them: so "X-Amz-Signature", "aws_session_token"
 * and "<SessionToken>" all match, "SignedHeaders" does not.  The
 * access key id (X-Amz-Credential) is not a secret and stays, as in the
 * signing log and `cgagent check`. */
static const struct {
    const char *name;
    bool to_line_end; /* the value holds spaces: "AWS4-HMAC-SHA256 Credential=…" */
} secret_names[] = {
    {"authorization", true},
    {"signature", false},
    {"security-token", false},    {"security_token", false},    {"securitytoken", false},
    {"session-token", false},     {"session_token", false},     {"sessiontoken", false},
    {"secret-access-key", false}, {"secret_access_key", false}, {"secretaccesskey", false},
    {"secret-key", false},        {"secret_key", false},        {"secretkey", false},
};

/* A session token (300+ characters), a secret key (40) or a signature
 * (64 hex) quoted without a name: only a run this long with letters and
 * digits is taken for one, so hashes (64 hex), ARNs and dates stay. */
#define BARE_SECRET_MIN 80

static bool is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Base64, percent-encoding and URL-safe base64: what a token, a key or a
 * signature is written with. */
static bool is_value_char(unsigned char c)
{
    return is_alnum(c) || c == '+' || c == '/' || c == '=' || c == '%' || c == '_' || c == '-' ||
           c == '.' || c == '~';
}

/* A value that runs to the end of its line: not a control byte, quote or
 * backslash (an escaped newline in quoted text). */
static bool is_line_char(unsigned char c)
{
    return c >= 0x20 && c != 0x7f && c != '"' && c != '\'' && c != '\\';
}

static bool is_bare_char(unsigned char c)
{
    return is_alnum(c) || c == '+' || c == '/' || c == '=' || c == '%';
}

/* When s[i] starts a secret name followed by its separator, returns the
 * offset of the value and sets *value_len; else 0. */
static size_t match_name(const char *s, size_t i, size_t len, size_t *value_len)
{
    if (i > 0 && is_alnum((unsigned char)s[i - 1]))
        return 0;
    for (size_t k = 0; k < sizeof(secret_names) / sizeof(secret_names[0]); k++) {
        size_t nl = strlen(secret_names[k].name);
        if (len - i < nl || strncasecmp(s + i, secret_names[k].name, nl) != 0)
            continue;
        size_t j = i + nl;
        if (j < len && (s[j] == '"' || s[j] == '\''))
            j++; /* "SessionToken": … */
        while (j < len && (s[j] == ' ' || s[j] == '\t'))
            j++;
        if (j >= len || (s[j] != '=' && s[j] != ':' && s[j] != '>'))
            continue; /* "signature you provided": prose, not a value */
        j++;
        while (j < len && (s[j] == ' ' || s[j] == '\t'))
            j++;
        if (j < len && (s[j] == '"' || s[j] == '\''))
            j++;
        size_t v = j;
        while (v < len && (secret_names[k].to_line_end ? is_line_char((unsigned char)s[v])
                                                       : is_value_char((unsigned char)s[v])))
            v++;
        *value_len = v - j;
        return j;
    }
    return 0;
}

char *cg_sign_log_mask_text(const char *s)
{
    size_t len = strlen(s);
    /* A name's value of n >= 1 bytes becomes the 10 of "<redacted>" and a
     * name is at least 9 bytes, so the text at most doubles; a bare run
     * only shrinks. */
    char *out = new_output(len);
    if (!out)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < len;) {
        size_t value_len = 0, at = match_name(s, i, len, &value_len);
        if (at && value_len) {
            memcpy(out + w, s + i, at - i);
            w += at - i;
            w = put_redacted(out, w);
            i = at + value_len;
            continue;
        }
        /* At the start of a run only: each run is measured once. */
        if (is_bare_char((unsigned char)s[i]) &&
            (i == 0 || !is_bare_char((unsigned char)s[i - 1]))) {
            size_t n = 0;
            bool digit = false, letter = false;
            while (i + n < len && is_bare_char((unsigned char)s[i + n])) {
                unsigned char c = (unsigned char)s[i + n++];
                digit |= c >= '0' && c <= '9';
                letter |= is_alnum(c) && !(c >= '0' && c <= '9');
            }
            if (n >= BARE_SECRET_MIN && digit && letter) {
                w = put_redacted(out, w);
                i += n;
                continue;
            }
        }
        out[w++] = s[i++];
    }
    out[w] = '\0';
    return out;
}

void cg_sign_log_mask_into(const char *s, char *dst, size_t size)
{
    if (!size)
        return;
    char *masked = cg_sign_log_mask_text(s);
    /* Without memory, no text at all rather than an unmasked one. */
    snprintf(dst, size, "%s", masked ? masked : "(message withheld: out of memory)");
    free(masked);
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
