/*
 * provider.c - the provider interface, static keys, and the helpers the
 * network providers share (token files, JSON credential documents).
 *
 * DESIGN: the providers' failures become one sentence in `err`, and that
 * sentence is logged and printed by `cgagent check`, so nothing taken
 * from a credential document may reach it: a malformed document is
 * described by jansson's error code (as a fixed phrase) and position only,
 * never by jansson's error text, which quotes up to 20 characters of the
 * input around the error ("invalid token near 'wJalrXUtnFEMI...'") and so
 * often part of the secret.  The json_error_t is wiped too.  Only the
 * service's own Code/Message fields of a well-formed error answer are
 * quoted.
 *
 * What it won't do: cache, retry, or log (callers do).
 */
#include "sts/provider.h"

#include "core/base/error.h"
#include "sts/sign_log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cg_provider_fetch(struct cg_provider *p, uint64_t deadline_ms, struct cg_credentials *out,
                      char *err, size_t err_size)
{
    if (err_size)
        err[0] = '\0';
    memset(out, 0, sizeof(*out));
    int rc = p->ops->fetch(p, deadline_ms, out, err, err_size);
    if (rc != 0) {
        cg_credentials_clear(out);
        if (err_size && !err[0])
            snprintf(err, err_size, "%s: no credentials (error %d)", p->description, rc);
    }
    return rc;
}

void cg_provider_free(struct cg_provider *p)
{
    if (!p)
        return;
    char *d = p->description;
    p->ops->destroy(p);
    free(d);
}

/* ---- static keys ---- */

struct static_provider {
    struct cg_provider base;
    struct cg_credentials creds;
};

static int static_fetch(struct cg_provider *p, uint64_t deadline_ms, struct cg_credentials *out,
                        char *err, size_t err_size)
{
    (void)deadline_ms, (void)err, (void)err_size;
    return cg_credentials_copy(out, &((struct static_provider *)p)->creds);
}

static void static_destroy(struct cg_provider *p)
{
    cg_credentials_clear(&((struct static_provider *)p)->creds);
    free(p);
}

static const struct cg_provider_ops static_ops = {static_fetch, static_destroy};

struct cg_provider *cg_provider_static_new(const char *description,
                                           const struct cg_credentials *c)
{
    struct static_provider *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->base.ops = &static_ops;
    p->base.description = strdup(description);
    p->base.role_session = c->session_token != NULL;
    if (!p->base.description || cg_credentials_copy(&p->creds, c) != 0) {
        free(p->base.description);
        cg_credentials_clear(&p->creds);
        free(p);
        return NULL;
    }
    return &p->base;
}

/* ---- shared helpers ---- */

int cg_read_token_file(const char *path, size_t max_bytes, const char *what, char **out,
                       char *err, size_t err_size)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        snprintf(err, err_size, "%s %s: cannot open: %s", what, path, strerror(e));
        return e == ENOENT ? CG_ENOTFOUND : -e;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(err, err_size, "%s %s: not a regular file", what, path);
        return CG_EINVAL;
    }
    if ((size_t)st.st_size > max_bytes) {
        close(fd);
        snprintf(err, err_size, "%s %s: larger than %zu bytes", what, path, max_bytes);
        return CG_ETOOBIG;
    }
    char *buf = malloc(max_bytes + 1);
    if (!buf) {
        close(fd);
        return CG_ENOMEM;
    }
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, max_bytes + 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got > max_bytes)
            break;
    }
    close(fd);
    if (got > max_bytes) {
        explicit_bzero(buf, got);
        free(buf);
        snprintf(err, err_size, "%s %s: larger than %zu bytes", what, path, max_bytes);
        return CG_ETOOBIG;
    }
    size_t a = 0, b = got;
    while (a < b && strchr(" \t\r\n", buf[a]))
        a++;
    while (b > a && strchr(" \t\r\n", buf[b - 1]))
        b--;
    memmove(buf, buf + a, b - a);
    explicit_bzero(buf + (b - a), got - (b - a));
    buf[b - a] = '\0';
    if (b == a) {
        free(buf);
        snprintf(err, err_size, "%s %s: empty", what, path);
        return CG_EINVAL;
    }
    *out = buf;
    return 0;
}

/* A fixed phrase for a jansson error code: never jansson's own text. */
static const char *json_problem(enum json_error_code code)
{
    switch (code) {
    case json_error_invalid_utf8: return "invalid UTF-8";
    case json_error_premature_end_of_input: return "the document ends too early";
    case json_error_end_of_input_expected: return "text after the end of the document";
    case json_error_invalid_syntax: return "invalid syntax";
    case json_error_null_character: return "a NUL character";
    case json_error_duplicate_key: return "a key appears twice";
    case json_error_numeric_overflow: return "a number out of range";
    case json_error_stack_overflow: return "nested too deeply";
    default: return "malformed";
    }
}

int cg_parse_credentials_json(const char *json, size_t len, const char *token_key,
                              bool expiration_required, const char *what,
                              struct cg_credentials *out, char *err, size_t err_size)
{
    json_error_t jerr;
    memset(&jerr, 0, sizeof(jerr));
    json_t *doc = json ? json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!doc && json && json_error_code(&jerr) == json_error_out_of_memory) {
        explicit_bzero(&jerr, sizeof(jerr));
        return CG_ENOMEM;
    }
    if (!doc) {
        snprintf(err, err_size, "%s: not valid JSON (%s at line %d, column %d, byte %d)", what,
                 json ? json_problem(json_error_code(&jerr)) : "no document",
                 jerr.line, jerr.column, jerr.position);
        explicit_bzero(&jerr, sizeof(jerr)); /* its text quotes the input */
        return CG_EPARSE;
    }
    explicit_bzero(&jerr, sizeof(jerr));
    if (!json_is_object(doc)) {
        snprintf(err, err_size, "%s: the answer is not a JSON object", what);
        json_decref(doc);
        return CG_EPARSE;
    }
    const char *code = json_string_value(json_object_get(doc, "Code"));
    const char *akid = json_string_value(json_object_get(doc, "AccessKeyId"));
    const char *secret = json_string_value(json_object_get(doc, "SecretAccessKey"));
    const char *token = json_string_value(json_object_get(doc, token_key));
    const char *exp = json_string_value(json_object_get(doc, "Expiration"));
    int rc = 0;
    int64_t expiration = 0;
    /* An endpoint's message may quote a request or a document with a
     * secret in it: masked like every quoted service message. */
    char masked[201];
    if (code && strcmp(code, "Success") != 0) {
        const char *msg = json_string_value(json_object_get(doc, "Message"));
        cg_sign_log_mask_into(msg ? msg : "", masked, sizeof(masked));
        snprintf(err, err_size, "%s: answered Code=%.64s%s%s", what, code, msg ? ": " : "",
                 masked);
        rc = CG_EAUTH;
    } else if (!akid || !*akid || !secret || !*secret) {
        const char *msg = json_string_value(json_object_get(doc, "message"));
        cg_sign_log_mask_into(msg ? msg : "", masked, sizeof(masked));
        snprintf(err, err_size, "%s: the answer has no AccessKeyId/SecretAccessKey%s%s",
                 what, msg ? ": " : "", masked);
        rc = CG_EPARSE;
    } else if (!cg_credentials_header_safe(akid) || !cg_credentials_header_safe(secret) ||
               !cg_credentials_header_safe(token)) {
        snprintf(err, err_size, "%s: the answer's AccessKeyId, SecretAccessKey or %s holds a "
                 "space, control or non-ASCII byte (refused: it would go into request headers)",
                 what, token_key);
        rc = CG_EPARSE;
    } else if ((exp && cg_parse_iso8601(exp, &expiration) != 0) ||
               (!exp && expiration_required)) {
        snprintf(err, err_size, "%s: Expiration %s", what,
                 exp ? "is not an ISO 8601 UTC time" : "is missing");
        rc = CG_EPARSE;
    } else {
        rc = cg_credentials_set(out, akid, secret, token, expiration);
    }
    /* jansson keeps its own copies of the strings: wipe them too. */
    json_t *fields[] = {json_object_get(doc, "SecretAccessKey"), json_object_get(doc, token_key)};
    for (size_t i = 0; i < 2; i++)
        if (json_is_string(fields[i])) {
            char *s = (char *)json_string_value(fields[i]);
            explicit_bzero(s, json_string_length(fields[i]));
        }
    json_decref(doc);
    return rc;
}
