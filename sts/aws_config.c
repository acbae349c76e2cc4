/*
 * aws_config.c - the AWS shared config and credentials files (see
 * aws_config.h for the format and the limits).
 */
#include "sts/aws_config.h"

#include "core/base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void cg_aws_config_cleanup(struct cg_aws_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->count; i++) {
        struct cg_aws_profile *p = &cfg->profiles[i];
        for (size_t j = 0; j < p->count; j++) {
            free(p->props[j].key);
            wipe_free(p->props[j].value);
        }
        free(p->props);
        free(p->name);
    }
    free(cfg->profiles);
    free(cfg->config_path);
    free(cfg->credentials_path);
    memset(cfg, 0, sizeof(*cfg));
}

const struct cg_aws_profile *cg_aws_config_profile(const struct cg_aws_config *cfg,
                                                   const char *name)
{
    for (size_t i = 0; cfg && name && i < cfg->count; i++)
        if (strcmp(cfg->profiles[i].name, name) == 0)
            return &cfg->profiles[i];
    return NULL;
}

const char *cg_aws_profile_get(const struct cg_aws_profile *p, const char *key)
{
    const char *from_config = NULL;
    for (size_t i = 0; p && i < p->count; i++) {
        if (strcmp(p->props[i].key, key) != 0)
            continue;
        if (p->props[i].from_credentials_file)
            return p->props[i].value;
        from_config = p->props[i].value;
    }
    return from_config;
}

static struct cg_aws_profile *profile_get_or_add(struct cg_aws_config *cfg, const char *name,
                                                 size_t len)
{
    for (size_t i = 0; i < cfg->count; i++)
        if (strlen(cfg->profiles[i].name) == len && memcmp(cfg->profiles[i].name, name, len) == 0)
            return &cfg->profiles[i];
    struct cg_aws_profile *grown = realloc(cfg->profiles, (cfg->count + 1) * sizeof(*grown));
    if (!grown)
        return NULL;
    cfg->profiles = grown;
    struct cg_aws_profile *p = &grown[cfg->count];
    memset(p, 0, sizeof(*p));
    if (!(p->name = strndup(name, len)))
        return NULL;
    cfg->count++;
    return p;
}

/* Sets key (later lines win within one file). */
static struct cg_aws_property *property_set(struct cg_aws_profile *p, const char *key,
                                            size_t klen, const char *value, size_t vlen,
                                            bool credentials_file, int line)
{
    struct cg_aws_property *prop = NULL;
    for (size_t i = 0; i < p->count; i++)
        if (p->props[i].from_credentials_file == credentials_file &&
            strlen(p->props[i].key) == klen && memcmp(p->props[i].key, key, klen) == 0)
            prop = &p->props[i];
    char *v = strndup(value, vlen);
    if (!v)
        return NULL;
    if (prop) {
        wipe_free(prop->value);
        prop->value = v;
        prop->line = line;
        return prop;
    }
    struct cg_aws_property *grown = realloc(p->props, (p->count + 1) * sizeof(*grown));
    if (!grown) {
        wipe_free(v);
        return NULL;
    }
    p->props = grown;
    prop = &grown[p->count];
    prop->key = strndup(key, klen);
    if (!prop->key) {
        wipe_free(v);
        return NULL;
    }
    prop->value = v;
    prop->from_credentials_file = credentials_file;
    prop->line = line;
    p->count++;
    return prop;
}

static int fail(char *err, size_t err_size, int rc, const char *fmt, ...)
{
    if (err && err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **s, const char **e)
{
    while (*s < *e && is_space(**s))
        (*s)++;
    while (*e > *s && (is_space((*e)[-1]) || (*e)[-1] == '\r'))
        (*e)--;
}

/* Parses one file's text.  `label` names the file in errors. */
static int parse_text(struct cg_aws_config *cfg, const char *text, size_t len,
                      bool credentials_file, const char *label, char *err, size_t err_size)
{
    struct cg_aws_profile *current = NULL;
    bool in_skipped_section = false;
    struct cg_aws_property *last = NULL;
    int line = 0;
    const char *p = text, *end = text + len;
    if (memchr(text, '\0', len))
        return fail(err, err_size, CG_EPARSE, "%s: contains a NUL byte; not a text file",
                    label);
    while (p < end) {
        line++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *ls = p, *le = nl ? nl : end;
        p = nl ? nl + 1 : end;
        bool indented = ls < le && is_space(*ls);
        trim(&ls, &le);
        if (ls == le || *ls == '#' || *ls == ';')
            continue;
        if (indented && (current || in_skipped_section) && !(*ls == '[')) {
            /* Continuation or sub-property of the previous property. */
            if (in_skipped_section)
                continue;
            if (!last)
                return fail(err, err_size, CG_EPARSE,
                            "%s:%d: indented line without a property to continue", label,
                            line);
            size_t old = strlen(last->value);
            char *joined = malloc(old + 1 + (size_t)(le - ls) + 1);
            if (!joined)
                return CG_ENOMEM;
            memcpy(joined, last->value, old);
            joined[old] = '\n';
            memcpy(joined + old + 1, ls, (size_t)(le - ls));
            joined[old + 1 + (size_t)(le - ls)] = '\0';
            wipe_free(last->value);
            last->value = joined;
            continue;
        }
        if (*ls == '[') {
            const char *close = memchr(ls, ']', (size_t)(le - ls));
            if (!close)
                return fail(err, err_size, CG_EPARSE, "%s:%d: section header without ']'",
                            label, line);
            const char *after = close + 1;
            trim(&after, &le);
            if (after < le && *after != '#' && *after != ';')
                return fail(err, err_size, CG_EPARSE,
                            "%s:%d: unexpected text after the section header", label, line);
            const char *ns = ls + 1, *ne = close;
            trim(&ns, &ne);
            last = NULL;
            current = NULL;
            in_skipped_section = false;
            if (ns == ne)
                return fail(err, err_size, CG_EPARSE, "%s:%d: empty section name", label, line);
            if (!credentials_file) {
                if ((size_t)(ne - ns) == 7 && memcmp(ns, "default", 7) == 0) {
                    /* [default] */
                } else if ((size_t)(ne - ns) > 8 && memcmp(ns, "profile", 7) == 0 &&
                           is_space(ns[7])) {
                    ns += 8;
                    trim(&ns, &ne);
                } else {
                    in_skipped_section = true; /* sso-session, services, bare names */
                    continue;
                }
            }
            if (memchr(ns, ' ', (size_t)(ne - ns)) || memchr(ns, '\t', (size_t)(ne - ns))) {
                in_skipped_section = true; /* the SDKs ignore names with spaces */
                continue;
            }
            current = profile_get_or_add(cfg, ns, (size_t)(ne - ns));
            if (!current)
                return CG_ENOMEM;
            if (credentials_file)
                current->in_credentials_file = true;
            else
                current->in_config_file = true;
            continue;
        }
        const char *eq = memchr(ls, '=', (size_t)(le - ls));
        if (!eq)
            return fail(err, err_size, CG_EPARSE, "%s:%d: expected 'key = value'", label, line);
        if (!current && !in_skipped_section)
            return fail(err, err_size, CG_EPARSE,
                        "%s:%d: property before any [section] header", label, line);
        if (in_skipped_section)
            continue;
        const char *ks = ls, *ke = eq, *vs = eq + 1, *ve = le;
        trim(&ks, &ke);
        trim(&vs, &ve);
        if (ks == ke)
            return fail(err, err_size, CG_EPARSE, "%s:%d: property without a name", label, line);
        last = property_set(current, ks, (size_t)(ke - ks), vs, (size_t)(ve - vs),
                            credentials_file, line);
        if (!last)
            return CG_ENOMEM;
    }
    return 0;
}

/* Reads a whole file with the limits; CG_ENOTFOUND when absent. */
static int read_file(const char *path, char **out, size_t *len, char *err, size_t err_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return CG_ENOTFOUND;
        int e = errno;
        return fail(err, err_size, -e, "%s: cannot open: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fail(err, err_size, CG_EINVAL, "%s: not a regular file", path);
    }
    if (st.st_size > CG_AWS_CONFIG_MAX_FILE_BYTES) {
        close(fd);
        return fail(err, err_size, CG_ETOOBIG, "%s: larger than %d bytes", path,
                    CG_AWS_CONFIG_MAX_FILE_BYTES);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return CG_ENOMEM;
    }
    size_t got = 0;
    while (got <= (size_t)CG_AWS_CONFIG_MAX_FILE_BYTES) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size + 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            explicit_bzero(buf, got);
            free(buf);
            close(fd);
            return fail(err, err_size, -e, "%s: read failed: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got > (size_t)st.st_size) { /* grew while we read it */
            explicit_bzero(buf, got);
            free(buf);
            close(fd);
            return fail(err, err_size, CG_EIO, "%s: changed while being read", path);
        }
    }
    close(fd);
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}

static int load_one(struct cg_aws_config *cfg, const char *path, bool credentials_file,
                    char *err, size_t err_size)
{
    char *text = NULL;
    size_t len = 0;
    int rc = read_file(path, &text, &len, err, err_size);
    if (rc == CG_ENOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    rc = parse_text(cfg, text, len, credentials_file, path, err, err_size);
    explicit_bzero(text, len);
    free(text);
    return rc;
}

int cg_aws_config_load(struct cg_aws_config *cfg, const char *config_path,
                       const char *credentials_path, char *err, size_t err_size)
{
    memset(cfg, 0, sizeof(*cfg));
    if (err_size)
        err[0] = '\0';
    cfg->config_path = config_path ? strdup(config_path) : NULL;
    cfg->credentials_path = credentials_path ? strdup(credentials_path) : NULL;
    int rc = 0;
    if (config_path)
        rc = load_one(cfg, config_path, false, err, err_size);
    if (rc == 0 && credentials_path)
        rc = load_one(cfg, credentials_path, true, err, err_size);
    if (rc != 0)
        cg_aws_config_cleanup(cfg);
    return rc;
}

int cg_aws_config_load_text(struct cg_aws_config *cfg, const char *config_text,
                            const char *credentials_text, char *err, size_t err_size)
{
    memset(cfg, 0, sizeof(*cfg));
    if (err_size)
        err[0] = '\0';
    int rc = 0;
    if (config_text)
        rc = parse_text(cfg, config_text, strlen(config_text), false, "config", err, err_size);
    if (rc == 0 && credentials_text)
        rc = parse_text(cfg, credentials_text, strlen(credentials_text), true, "credentials",
                        err, err_size);
    if (rc != 0)
        cg_aws_config_cleanup(cfg);
    return rc;
}
