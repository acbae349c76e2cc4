/*
 * xml_fields.c - named text fields out of XML, with expat.
 *
 * DESIGN: the documents are STS answers, which carry SecretAccessKey and
 * SessionToken, so every copy of their text is wiped before it is freed:
 * the captured text buffer (grown by malloc + copy + wipe, never
 * realloc), the trimmed values (including the bytes trimming moved past
 * the new end), and expat's own buffers.  expat copies the whole document
 * into its input buffer, so the parser gets a memory suite
 * (XML_ParserCreate_MM) whose blocks carry their size in a header and are
 * wiped on free and on realloc.  That suite is per parser: it changes
 * nothing for other users of libexpat in the host program.
 *
 * What it won't do: resolve entities or read a DOCTYPE, return more than
 * the first occurrence of a name, or quote the document in any error.
 */
#include "sts/xml_fields.h"

#include "core/base/error.h"
#include "core/base/wiped_mem.h"

#include <expat.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32
#define MAX_FIELD_BYTES 65536

struct state {
    XML_Parser parser;
    struct cg_xml_field *fields;
    size_t count;
    int depth;
    ssize_t capturing;   /* index into fields, -1 when none */
    int capture_depth;
    char *buf;
    size_t len, cap;
    bool failed, nomem;
};

/* ---- expat's memory, wiped on release ---- */

/* Blocks wiped when released: core/base/wiped_mem.h. */
static const XML_Memory_Handling_Suite wiped_memory = {cg_wiped_malloc, cg_wiped_realloc, cg_wiped_free};

/* ---- fields ---- */

static const char *local_name(const char *name)
{
    const char *sep = strrchr(name, '\x01'); /* the namespace separator we chose */
    return sep ? sep + 1 : name;
}

static void stop(struct state *s, bool nomem)
{
    s->failed = true;
    s->nomem = s->nomem || nomem;
    XML_StopParser(s->parser, XML_FALSE);
}

static void XMLCALL on_start(void *ctx, const XML_Char *name, const XML_Char **attrs)
{
    (void)attrs;
    struct state *s = ctx;
    if (++s->depth > MAX_DEPTH) {
        stop(s, false);
        return;
    }
    if (s->capturing >= 0)
        return; /* nested element inside a captured one: keep the text only */
    const char *local = local_name(name);
    for (size_t i = 0; i < s->count; i++) {
        if (!s->fields[i].value && strcmp(s->fields[i].name, local) == 0) {
            s->capturing = (ssize_t)i;
            s->capture_depth = s->depth;
            s->len = 0;
            return;
        }
    }
}

static void XMLCALL on_end(void *ctx, const XML_Char *name)
{
    (void)name;
    struct state *s = ctx;
    if (s->capturing >= 0 && s->depth == s->capture_depth) {
        char *v = malloc(s->len + 1);
        if (!v) {
            stop(s, true);
            return;
        }
        if (s->len)
            memcpy(v, s->buf, s->len);
        v[s->len] = '\0';
        /* Trim the white space of pretty-printed documents. */
        size_t a = 0, b = s->len;
        while (a < b && strchr(" \t\r\n", v[a]))
            a++;
        while (b > a && strchr(" \t\r\n", v[b - 1]))
            b--;
        memmove(v, v + a, b - a);
        /* The last `a` bytes of the text are still past the new end:
         * cleanup wipes only up to the NUL, so wipe them now. */
        explicit_bzero(v + (b - a), s->len + 1 - (b - a));
        s->fields[s->capturing].value = v;
        s->capturing = -1;
        if (s->len) /* an empty element has no buffer yet */
            explicit_bzero(s->buf, s->len);
        s->len = 0;
    }
    s->depth--;
}

static void XMLCALL on_text(void *ctx, const XML_Char *text, int len)
{
    struct state *s = ctx;
    if (s->capturing < 0 || len <= 0)
        return;
    if (s->len + (size_t)len > MAX_FIELD_BYTES) {
        stop(s, false);
        return;
    }
    if (s->len + (size_t)len > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        while (cap < s->len + (size_t)len)
            cap *= 2;
        char *grown = malloc(cap);
        if (!grown) {
            stop(s, true);
            return;
        }
        if (s->buf) {
            memcpy(grown, s->buf, s->len);
            explicit_bzero(s->buf, s->cap);
            free(s->buf);
        }
        s->buf = grown;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, text, (size_t)len);
    s->len += (size_t)len;
}

static void XMLCALL on_doctype(void *ctx, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    stop(ctx, false);
}

void cg_xml_fields_cleanup(struct cg_xml_field *fields, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (fields[i].value) {
            explicit_bzero(fields[i].value, strlen(fields[i].value));
            free(fields[i].value);
            fields[i].value = NULL;
        }
    }
}

int cg_xml_fields(const char *doc, size_t len, struct cg_xml_field *fields, size_t count)
{
    for (size_t i = 0; i < count; i++)
        fields[i].value = NULL;
    if (!doc || len == 0 || len > (size_t)INT32_MAX)
        return CG_EPARSE;
    struct state s = {.fields = fields, .count = count, .capturing = -1};
    s.parser = XML_ParserCreate_MM(NULL, &wiped_memory, "\x01");
    if (!s.parser)
        return CG_ENOMEM;
    XML_SetUserData(s.parser, &s);
    XML_SetElementHandler(s.parser, on_start, on_end);
    XML_SetCharacterDataHandler(s.parser, on_text);
    XML_SetStartDoctypeDeclHandler(s.parser, on_doctype);
    enum XML_Status st = XML_Parse(s.parser, doc, (int)len, XML_TRUE);
    XML_ParserFree(s.parser);
    if (s.buf) {
        explicit_bzero(s.buf, s.cap);
        free(s.buf);
    }
    if (st != XML_STATUS_OK || s.failed) {
        cg_xml_fields_cleanup(fields, count);
        return s.nomem ? CG_ENOMEM : CG_EPARSE;
    }
    return 0;
}
