/*
 * python_code.c - code objects to CodeGuru names, files and lines, on the
 * agent thread at drain time.
 *
 * DESIGN: a code object is read once (checked reads: its type must be the
 * exported PyCode_Type, its names str objects, its line table bytes) and
 * cached by address with what identifies it (name, file and table
 * pointers, first line).  In each later drain it is read again once
 * before it is trusted: a code object freed and another allocated at its
 * address shows other pointers, and is read afresh.  The resolved frame
 * is a function id (an index into every (name, file) handed out, never
 * reused, so the strings outlive any stack that names them) and the line
 * of the recorded instruction.
 * Names: "py::<qualname>:<file>" as CPython's perf map writes them, made
 * into CodeGuru's form by core/symbols/python_names.h.  3.10 and older
 * have no co_qualname: a function whose first parameter is `self` takes
 * the class of the object passed, as CodeGuru's Python agent does.
 * What it won't do: read source files, or call the interpreter.
 */
#include "core/runtime/python_internal.h"

#include "core/symbols/python_names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STR 1024        /* characters of a name or file read */
#define MAX_TABLE (1 << 20) /* bytes of a line table read */
#define NAME_CAP 1024
#define MAX_CODES 65536     /* code objects cached at once */

struct py_code {
    uint64_t code;          /* 0: empty slot */
    uint64_t name_ptr, file_ptr, table_ptr;
    int firstlineno;
    uint64_t checked_gen;
    bool bad;               /* not a code object when last read */
    bool self_first;        /* 3.10 and older: first parameter is `self` */
    char *qualname;         /* co_qualname, or co_name (3.10 and older) */
    char *file;
    unsigned char *table;
    size_t table_len;
    uint32_t func_id;       /* plain name's id; 0: not yet */
    uint64_t last_type;     /* self_first: the class seen last, its id */
    uint32_t last_type_id;
    uint32_t last_offset, last_line; /* one-entry memo */
};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

/* Frees an entry's copies and takes their bytes off the count. */
static void free_code(struct cg_py *py, struct py_code *c)
{
    size_t held = (c->qualname ? strlen(c->qualname) + 1 : 0) +
                  (c->file ? strlen(c->file) + 1 : 0) + (c->table ? c->table_len : 0);
    py->bytes -= held < py->bytes ? held : py->bytes;
    free(c->qualname);
    free(c->file);
    free(c->table);
}

void cg_py_code_free(struct cg_py *py)
{
    for (size_t i = 0; i < py->codes_cap; i++)
        if (py->codes[i].code)
            free_code(py, &py->codes[i]);
    free(py->codes);
    for (size_t i = 0; i < py->funcs_n; i++) {
        free(py->funcs[i].name);
        free(py->funcs[i].file);
    }
    free(py->funcs);
    free(py->func_index);
    cg_python_roots_free(py->roots);
    py->codes = NULL;
    py->funcs = NULL;
    py->func_index = NULL;
    py->roots = NULL;
    py->codes_cap = py->codes_used = py->funcs_n = py->funcs_cap = py->func_index_cap = 0;
}

/* Appends code point cp as UTF-8. */
static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

char *cg_py_read_str(struct cg_py *py, struct cg_own_mem *m, uint64_t obj)
{
    const struct cg_py_layout *L = &py->L;
    uint64_t type = 0, length = 0;
    uint32_t state = 0;
    if (!cg_py_read_word(m, obj + (uint64_t)L->object_type, &type) || type != py->unicode_type ||
        !cg_py_read_word(m, obj + (uint64_t)L->unicode_length, &length) || length > MAX_STR ||
        !cg_py_read(m, obj + (uint64_t)L->unicode_state, &state, sizeof(state)))
        return NULL;
    /* state: interned:2, kind:3, compact:1, ascii:1 on 3.8-3.13. */
    unsigned kind = (state >> 2) & 7, compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
    if (!compact || (kind != 1 && kind != 2 && kind != 4))
        return NULL;
    uint64_t data = obj + (uint64_t)(ascii ? L->unicode_ascii_size : L->unicode_compact_size);
    unsigned char raw[MAX_STR * 4];
    if (!cg_py_read(m, data, raw, (size_t)length * kind))
        return NULL;
    char *out = malloc((size_t)length * 4 + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < length; i++) {
        uint32_t cp;
        if (kind == 1)
            cp = raw[i];
        else if (kind == 2)
            cp = (uint32_t)raw[2 * i] | (uint32_t)raw[2 * i + 1] << 8;
        else
            memcpy(&cp, raw + 4 * i, 4);
        if (cp == 0 || cp > 0x10ffff)
            cp = '?';
        n += put_utf8(out + n, cp);
    }
    out[n] = '\0';
    py->bytes += n + 1;
    return out;
}

/* The bytes of a bytes object, malloc'd; NULL when unreadable. */
static unsigned char *read_bytes(struct cg_py *py, uint64_t obj, size_t *len)
{
    const struct cg_py_layout *L = &py->L;
    uint64_t type = 0, size = 0;
    struct cg_own_mem *m = py->code_mem;
    if (!cg_py_read_word(m, obj + (uint64_t)L->object_type, &type) || type != py->bytes_type ||
        !cg_py_read_word(m, obj + (uint64_t)L->bytes_size, &size) || size > MAX_TABLE)
        return NULL;
    unsigned char *out = malloc(size ? size : 1);
    if (!out || (size && !cg_py_read(m, obj + (uint64_t)L->bytes_data, out, size))) {
        free(out);
        return NULL;
    }
    *len = size;
    py->bytes += size;
    return out;
}

/* Reads what identifies a code object; false when it is none. */
static bool read_ident(struct cg_py *py, uint64_t code, struct py_code *c)
{
    const struct cg_py_layout *L = &py->L;
    struct cg_own_mem *m = py->code_mem;
    uint64_t type = 0;
    int32_t first = 0;
    long name_field = L->code_qualname >= 0 ? L->code_qualname : L->code_name;
    if (!cg_py_read_word(m, code + (uint64_t)L->object_type, &type) || type != py->code_type ||
        !cg_py_read_word(m, code + (uint64_t)name_field, &c->name_ptr) ||
        !cg_py_read_word(m, code + (uint64_t)L->code_filename, &c->file_ptr) ||
        !cg_py_read_word(m, code + (uint64_t)L->code_linetable, &c->table_ptr) ||
        !cg_py_read(m, code + (uint64_t)L->code_firstlineno, &first, sizeof(first)))
        return false;
    c->firstlineno = first;
    return true;
}

/* 3.10 and older: is the first parameter named `self`? */
static bool first_param_is_self(struct cg_py *py, uint64_t code)
{
    const struct cg_py_layout *L = &py->L;
    struct cg_own_mem *m = py->code_mem;
    int32_t argc = 0;
    uint64_t names = 0, type = 0, size = 0, first = 0;
    if (!cg_py_read(m, code + (uint64_t)L->code_argcount, &argc, sizeof(argc)) || argc < 1 ||
        !cg_py_read_word(m, code + (uint64_t)L->code_varnames, &names) ||
        !cg_py_read_word(m, names + (uint64_t)L->object_type, &type) || type != py->tuple_type ||
        !cg_py_read_word(m, names + (uint64_t)L->tuple_size, &size) || size < 1 ||
        !cg_py_read_word(m, names + (uint64_t)L->tuple_items, &first))
        return false;
    char *s = cg_py_read_str(py, m, first);
    bool self = s && strcmp(s, "self") == 0;
    if (s)
        py->bytes -= strlen(s) + 1; /* a look, not kept */
    free(s);
    return self;
}

/* Fills a cache entry for code object `code`; one that does not read
 * as a code object with a name and a file is kept, marked bad. */
static bool fill_code(struct cg_py *py, uint64_t code, struct py_code *c)
{
    memset(c, 0, sizeof(*c));
    c->code = code;
    c->checked_gen = py->gen;
    if (read_ident(py, code, c)) {
        c->qualname = cg_py_read_str(py, py->code_mem, c->name_ptr);
        c->file = cg_py_read_str(py, py->code_mem, c->file_ptr);
        c->table = read_bytes(py, c->table_ptr, &c->table_len);
    }
    if (!c->qualname || !c->file) {
        free_code(py, c);
        uint64_t name = c->name_ptr, file = c->file_ptr, table = c->table_ptr;
        int first = c->firstlineno;
        memset(c, 0, sizeof(*c));
        c->code = code;
        c->checked_gen = py->gen;
        /* What it read as, so the next check sees a change. */
        c->name_ptr = name;
        c->file_ptr = file;
        c->table_ptr = table;
        c->firstlineno = first;
        c->bad = true;
        return false;
    }
    if (py->L.code_qualname < 0)
        c->self_first = first_param_is_self(py, code);
    c->last_offset = CG_PY_NO_OFFSET;
    return true;
}

static bool grow_codes(struct cg_py *py)
{
    size_t cap = py->codes_cap ? py->codes_cap * 2 : 256;
    struct py_code *t = calloc(cap, sizeof(*t));
    if (!t)
        return false;
    for (size_t i = 0; i < py->codes_cap; i++) {
        struct py_code *c = &py->codes[i];
        if (!c->code)
            continue;
        size_t j = mix(c->code) & (cap - 1);
        while (t[j].code)
            j = (j + 1) & (cap - 1);
        t[j] = *c;
    }
    py->bytes += (cap - py->codes_cap) * sizeof(*t);
    free(py->codes);
    py->codes = t;
    py->codes_cap = cap;
    return true;
}

/* Forgets every cached code object (function ids stay valid). */
static void clear_codes(struct cg_py *py)
{
    for (size_t i = 0; i < py->codes_cap; i++)
        if (py->codes[i].code)
            free_code(py, &py->codes[i]);
    memset(py->codes, 0, py->codes_cap * sizeof(*py->codes));
    py->codes_used = 0;
}

/* The checked cache entry of a code object; NULL when it reads as none. */
static struct py_code *code_entry(struct cg_py *py, uint64_t code)
{
    /* A program that compiles code all the time (exec, templates) leaves
     * entries of code objects long freed: start again past this many. */
    if (py->codes_used >= MAX_CODES)
        clear_codes(py);
    if ((py->codes_used + 1) * 4 > py->codes_cap * 3 && !grow_codes(py))
        return NULL;
    size_t mask = py->codes_cap - 1, j = mix(code) & mask;
    while (py->codes[j].code && py->codes[j].code != code)
        j = (j + 1) & mask;
    struct py_code *c = &py->codes[j];
    if (!c->code) {
        py->codes_used++;
        fill_code(py, code, c);
        return c->bad ? NULL : c;
    }
    if (c->checked_gen != py->gen) {
        struct py_code now;
        if (!read_ident(py, code, &now) || now.name_ptr != c->name_ptr ||
            now.file_ptr != c->file_ptr || now.table_ptr != c->table_ptr ||
            now.firstlineno != c->firstlineno) {
            free_code(py, c);
            fill_code(py, code, c); /* another object now, or none */
        }
        c->checked_gen = py->gen;
    }
    return c->bad ? NULL : c;
}

static uint64_t hash_str(const char *s, uint64_t h)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static bool grow_index(struct cg_py *py)
{
    size_t cap = py->func_index_cap ? py->func_index_cap * 2 : 256;
    uint32_t *t = calloc(cap, sizeof(*t));
    if (!t)
        return false;
    for (size_t i = 0; i < py->funcs_n; i++) {
        size_t j = hash_str(py->funcs[i].file, hash_str(py->funcs[i].name, 14695981039346656037ull)) &
                   (cap - 1);
        while (t[j])
            j = (j + 1) & (cap - 1);
        t[j] = (uint32_t)(i + 1);
    }
    py->bytes += (cap - py->func_index_cap) * sizeof(*t);
    free(py->func_index);
    py->func_index = t;
    py->func_index_cap = cap;
    return true;
}

/* The id of (name, file), added when new; 0 when out of memory. */
static uint32_t func_id(struct cg_py *py, const char *name, const char *file)
{
    if ((py->funcs_n + 1) * 2 > py->func_index_cap && !grow_index(py))
        return 0;
    size_t mask = py->func_index_cap - 1;
    size_t j = hash_str(file, hash_str(name, 14695981039346656037ull)) & mask;
    for (; py->func_index[j]; j = (j + 1) & mask) {
        struct py_func *f = &py->funcs[py->func_index[j] - 1];
        if (strcmp(f->name, name) == 0 && strcmp(f->file, file) == 0)
            return py->func_index[j];
    }
    if (py->funcs_n == py->funcs_cap) {
        size_t cap = py->funcs_cap ? py->funcs_cap * 2 : 256;
        struct py_func *t = realloc(py->funcs, cap * sizeof(*t));
        if (!t)
            return 0;
        py->bytes += (cap - py->funcs_cap) * sizeof(*t);
        py->funcs = t;
        py->funcs_cap = cap;
    }
    struct py_func f = {strdup(name), strdup(file)};
    if (!f.name || !f.file) {
        free(f.name);
        free(f.file);
        return 0;
    }
    py->bytes += strlen(name) + strlen(file) + 2;
    py->funcs[py->funcs_n++] = f;
    py->func_index[j] = (uint32_t)py->funcs_n;
    return (uint32_t)py->funcs_n;
}

/* The class name of type object `type`: tp_name after its last dot. */
static char *class_name(struct cg_py *py, uint64_t type)
{
    uint64_t p = 0;
    char buf[256];
    if (!cg_py_read_word(py->code_mem, type + (uint64_t)py->L.type_name, &p) || !p)
        return NULL;
    for (size_t i = 0; i < sizeof(buf); i++) {
        if (!cg_py_read(py->code_mem, p + i, &buf[i], 1))
            return NULL;
        if (!buf[i]) {
            const char *dot = strrchr(buf, '.');
            return strdup(dot ? dot + 1 : buf);
        }
    }
    return NULL;
}

static uint32_t name_id(struct cg_py *py, struct py_code *c, uint64_t self_type)
{
    if (c->self_first && self_type) {
        if (c->last_type == self_type && c->last_type_id)
            return c->last_type_id;
    } else if (c->func_id) {
        return c->func_id;
    }
    char qual[NAME_CAP];
    char *cls = c->self_first && self_type ? class_name(py, self_type) : NULL;
    if (cls)
        snprintf(qual, sizeof(qual), "py::%s.%s:%s", cls, c->qualname, c->file);
    else
        snprintf(qual, sizeof(qual), "py::%s:%s", c->qualname, c->file);
    free(cls);
    char name[NAME_CAP];
    const char *file = NULL;
    size_t file_len = 0;
    if (cg_python_frame_name(py->roots, qual, name, sizeof(name), &file, &file_len) != 0)
        snprintf(name, sizeof(name), "%s", c->qualname);
    uint32_t id = func_id(py, name, c->file);
    if (c->self_first && self_type) {
        c->last_type = self_type;
        c->last_type_id = id;
    } else {
        c->func_id = id;
    }
    return id;
}

static uint32_t line_of(struct cg_py *py, struct py_code *c, uint32_t offset)
{
    if (offset == CG_PY_NO_OFFSET || !c->table)
        return 0;
    if (offset == c->last_offset)
        return c->last_line;
    int line = cg_py_line_for_offset(py->lines_kind, c->table, c->table_len, c->firstlineno,
                                     offset);
    c->last_offset = offset;
    c->last_line = line > 0 ? (uint32_t)line : 0;
    return c->last_line;
}

size_t cg_py_resolve(struct cg_py *py, const uint64_t *in, size_t n, uint64_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!cg_word_is_py(in[i]) || i + CG_PY_WORDS > n) {
            if (!cg_word_is_py(in[i]))
                out[k++] = in[i];
            continue;
        }
        unsigned flags = (unsigned)(in[i] >> 32) & 0xffff;
        /* Not attached (a fork child's fresh agent, before its first
         * check of the interpreter): no layout to read with. */
        bool can_read = py && py->attached && !(flags & CG_PY_RESOLVED);
        struct py_code *c = can_read ? code_entry(py, in[i + 1]) : NULL;
        if (flags & CG_PY_RESOLVED) {
            out[k++] = in[i];
            out[k++] = in[i + 1];
            out[k++] = in[i + 2];
        } else if (c) {
            uint32_t id = name_id(py, c, in[i + 2]);
            if (id) {
                uint32_t line = line_of(py, c, (uint32_t)in[i]);
                out[k++] = CG_PY_WORD_TAG | (uint64_t)(flags | CG_PY_RESOLVED) << 32 | line;
                out[k++] = id;
                out[k++] = 0;
            } else if (flags & CG_PY_ENTRY && k >= CG_PY_WORDS && cg_word_is_py(out[k - 3])) {
                out[k - 3] |= (uint64_t)CG_PY_ENTRY << 32;
            }
        } else if (flags & CG_PY_ENTRY && k >= CG_PY_WORDS && cg_word_is_py(out[k - 3])) {
            /* A dropped frame's boundary moves to its callee. */
            out[k - 3] |= (uint64_t)CG_PY_ENTRY << 32;
        }
        i += CG_PY_WORDS - 1;
    }
    return k;
}

const char *cg_py_func_name(const struct cg_py *py, uint64_t id, const char **file)
{
    if (!py || id == 0 || id > py->funcs_n) {
        *file = NULL;
        return "[unknown Python]";
    }
    *file = py->funcs[id - 1].file;
    return py->funcs[id - 1].name;
}

size_t cg_py_bytes(const struct cg_py *py)
{
    return py ? py->bytes + sizeof(*py) + 2 * sizeof(struct cg_own_mem) : 0;
}
