/*
 * python_code_test.c - code objects to names and lines
 * (core/runtime/python_code.c), on objects laid out by hand as CPython
 * 3.11 and 3.9 lay them out: a real-looking code object gives its
 * CodeGuru name, file and line; a pointer to zeros, to unmapped memory or
 * to an object of another type is dropped without a fault; a code object
 * replaced at the same address is read afresh at the next drain; 3.9
 * takes the class from the first argument's type when it is `self`.
 */
#include "core/runtime/python_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

/* Stand-ins for the exported type objects: only their addresses matter,
 * but tp_name is read for a class. */
static _Alignas(8) unsigned char code_type[512], unicode_type[512], bytes_type[512],
    tuple_type[512], class_type[512];

struct fake_str {
    _Alignas(8) unsigned char obj[128];
};

static void make_str(const struct cg_py_layout *L, struct fake_str *s, const char *text)
{
    memset(s, 0, sizeof(*s));
    uint64_t type = (uint64_t)(uintptr_t)unicode_type, len = strlen(text);
    uint32_t state = (1u << 2) | (1u << 5) | (1u << 6); /* kind 1, compact, ascii */
    memcpy(s->obj + L->object_type, &type, 8);
    memcpy(s->obj + L->unicode_length, &len, 8);
    memcpy(s->obj + L->unicode_state, &state, 4);
    memcpy(s->obj + L->unicode_ascii_size, text, len + 1);
}

struct fake_code {
    _Alignas(8) unsigned char obj[512];
    struct fake_str name, file, self_name;
    _Alignas(8) unsigned char table[64];
    _Alignas(8) unsigned char varnames[64];
};

static void put_ptr(unsigned char *obj, long off, const void *p)
{
    uint64_t v = (uint64_t)(uintptr_t)p;
    memcpy(obj + off, &v, 8);
}

/* A code object named `qualname` in `file`, first line 10, whose line
 * table maps every instruction to line 12. */
static void make_code(const struct cg_py_layout *L, struct fake_code *c, const char *qualname,
                      const char *file)
{
    memset(c, 0, sizeof(*c));
    make_str(L, &c->name, qualname);
    make_str(L, &c->file, file);
    put_ptr(c->obj, L->object_type, code_type);
    put_ptr(c->obj, L->code_qualname >= 0 ? L->code_qualname : L->code_name, c->name.obj);
    if (L->code_qualname >= 0)
        put_ptr(c->obj, L->code_name, c->name.obj);
    put_ptr(c->obj, L->code_filename, c->file.obj);
    int32_t first = 10;
    memcpy(c->obj + L->code_firstlineno, &first, 4);
    /* The line table, a bytes object. */
    put_ptr(c->table, L->object_type, bytes_type);
    uint64_t size;
    if (L->minor >= 11) {
        /* One location entry: code 12 (one line, line + 2), 8 code units. */
        size = 3;
        c->table[L->bytes_data] = (unsigned char)(0x80 | (12 << 3) | 7);
        c->table[L->bytes_data + 1] = 0;
        c->table[L->bytes_data + 2] = 0;
    } else {
        /* lnotab: +0 bytes, +2 lines. */
        size = 2;
        c->table[L->bytes_data] = 0;
        c->table[L->bytes_data + 1] = 2;
    }
    memcpy(c->table + L->bytes_size, &size, 8);
    put_ptr(c->obj, L->code_linetable, c->table);
    /* co_varnames / co_localsplusnames = ("self",), one argument. */
    make_str(L, &c->self_name, "self");
    put_ptr(c->varnames, L->object_type, tuple_type);
    uint64_t one = 1;
    memcpy(c->varnames + L->tuple_size, &one, 8);
    put_ptr(c->varnames, L->tuple_items, c->self_name.obj);
    put_ptr(c->obj, L->code_varnames, c->varnames);
    int32_t argc = 1;
    memcpy(c->obj + L->code_argcount, &argc, 4);
}

static struct cg_py *new_py(unsigned minor)
{
    struct cg_py *py = cg_py_new();
    assert_non_null(py);
    py->major = 3;
    py->minor = minor;
    py->L = *cg_py_layout_find(3, minor);
    py->code_type = (uint64_t)(uintptr_t)code_type;
    py->unicode_type = (uint64_t)(uintptr_t)unicode_type;
    py->bytes_type = (uint64_t)(uintptr_t)bytes_type;
    py->tuple_type = (uint64_t)(uintptr_t)tuple_type;
    py->lines_kind = minor <= 9 ? CG_PY_LNOTAB : minor == 10 ? CG_PY_LINETABLE_310 : CG_PY_LOCATIONS;
    py->attached = true;
    py->gen = 1;
    return py;
}

/* Resolves one raw frame; returns the words written (0 or 3). */
static size_t resolve_one(struct cg_py *py, uint64_t code, uint64_t aux, uint64_t out[3])
{
    uint64_t in[3] = {CG_PY_WORD_TAG | (uint64_t)CG_PY_ENTRY << 32 | 4, code, aux};
    return cg_py_resolve(py, in, 3, out);
}

static void a_code_object_gives_its_codeguru_name_file_and_line(void **state)
{
    (void)state;
    struct cg_py *py = new_py(11);
    static struct fake_code c;
    make_code(&py->L, &c, "Worker.heavy", "/srv/app/ka.py");
    uint64_t out[3];
    assert_int_equal(resolve_one(py, (uint64_t)(uintptr_t)c.obj, 0, out), 3);
    assert_true(cg_word_is_py(out[0]));
    assert_true((out[0] >> 32) & CG_PY_RESOLVED);
    assert_true((out[0] >> 32) & CG_PY_ENTRY);
    assert_int_equal((uint32_t)out[0], 12);
    const char *file;
    assert_string_equal(cg_py_func_name(py, out[1], &file), "ka:Worker:heavy");
    assert_string_equal(file, "/srv/app/ka.py");
    cg_py_free(py);
}

static void anything_else_is_dropped_without_a_fault(void **state)
{
    (void)state;
    struct cg_py *py = new_py(11);
    static _Alignas(8) unsigned char zeros[512];
    uint64_t out[3];
    assert_int_equal(resolve_one(py, (uint64_t)(uintptr_t)zeros, 0, out), 0);
    /* Unmapped memory. */
    long page = sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    munmap(p, (size_t)page);
    assert_int_equal(resolve_one(py, (uint64_t)(uintptr_t)p, 0, out), 0);
    /* A str where a code object should be. */
    static struct fake_str s;
    make_str(&py->L, &s, "not code");
    assert_int_equal(resolve_one(py, (uint64_t)(uintptr_t)s.obj, 0, out), 0);
    /* A code object whose name is not a str. */
    static struct fake_code c;
    make_code(&py->L, &c, "f", "/a.py");
    put_ptr(c.obj, py->L.code_qualname, zeros);
    assert_int_equal(resolve_one(py, (uint64_t)(uintptr_t)c.obj, 0, out), 0);
    /* An entry flag of a dropped frame moves to its callee. */
    static struct fake_code good;
    make_code(&py->L, &good, "g", "/a.py");
    uint64_t in[6] = {CG_PY_WORD_TAG | 4, (uint64_t)(uintptr_t)good.obj, 0,
                      CG_PY_WORD_TAG | (uint64_t)CG_PY_ENTRY << 32 | 4,
                      (uint64_t)(uintptr_t)zeros, 0};
    uint64_t two[6];
    assert_int_equal(cg_py_resolve(py, in, 6, two), 3);
    assert_true((two[0] >> 32) & CG_PY_ENTRY);
    cg_py_free(py);
}

static void a_code_object_replaced_at_its_address_is_read_again(void **state)
{
    (void)state;
    struct cg_py *py = new_py(12);
    static struct fake_code c;
    make_code(&py->L, &c, "first", "/a.py");
    uint64_t out[3];
    const char *file;
    assert_int_equal(resolve_one(py, (uint64_t)(uintptr_t)c.obj, 0, out), 3);
    assert_string_equal(cg_py_func_name(py, out[1], &file), "a:first");
    /* Another code object at the same address; within the drain the
     * cache answers, at the next drain it is checked again. */
    static struct fake_str other;
    make_str(&py->L, &other, "second");
    put_ptr(c.obj, py->L.code_qualname, other.obj);
    cg_py_begin(py); /* the next drain */
    assert_int_equal(resolve_one(py, (uint64_t)(uintptr_t)c.obj, 0, out), 3);
    assert_string_equal(cg_py_func_name(py, out[1], &file), "a:second");
    cg_py_free(py);
}

static void on_3_9_a_method_takes_the_class_of_self(void **state)
{
    (void)state;
    struct cg_py *py = new_py(9);
    static struct fake_code c;
    make_code(&py->L, &c, "light", "/srv/ka.py");
    /* The first argument's type: a type object whose tp_name is "Worker". */
    static const char tp_name[] = "mod.Worker";
    put_ptr(class_type, py->L.type_name, tp_name);
    uint64_t out[3];
    const char *file;
    assert_int_equal(resolve_one(py, (uint64_t)(uintptr_t)c.obj, (uint64_t)(uintptr_t)class_type,
                                 out),
                     3);
    assert_string_equal(cg_py_func_name(py, out[1], &file), "ka:Worker:light");
    assert_int_equal((uint32_t)out[0], 12);
    /* Without an argument's type: a plain function. */
    assert_int_equal(resolve_one(py, (uint64_t)(uintptr_t)c.obj, 0, out), 3);
    assert_string_equal(cg_py_func_name(py, out[1], &file), "ka:light");
    cg_py_free(py);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_code_object_gives_its_codeguru_name_file_and_line),
        cmocka_unit_test(anything_else_is_dropped_without_a_fault),
        cmocka_unit_test(a_code_object_replaced_at_its_address_is_read_again),
        cmocka_unit_test(on_3_9_a_method_takes_the_class_of_self),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
