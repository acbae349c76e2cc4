/*
 * python_names_frames_test.c - CPython perf-map names turned into the
 * CodeGuru Python agent's frames: module from the longest root (given,
 * site-packages, dist-packages, lib/pythonX.Y), methods, nested classes,
 * <locals>, lambdas, comprehensions, <module>, __init__, frozen modules,
 * pseudo-files, files under no root, root boundaries, odd file names, and
 * names cut at the buffer's end.
 */
#include "core/symbols/python_names.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static const char *const app_roots[] = {"/srv", "/srv/app/", "/tmp/pyx"};

static void check(const struct cg_python_roots *roots, const char *perf, const char *want,
                  const char *want_file)
{
    char out[512];
    const char *file = NULL;
    size_t file_len = 0;
    assert_int_equal(cg_python_frame_name(roots, perf, out, sizeof(out), &file, &file_len), 0);
    assert_string_equal(out, want);
    assert_int_equal(file_len, strlen(want_file));
    assert_memory_equal(file, want_file, file_len);
}

static void functions_and_methods_of_the_script(void **state)
{
    (void)state;
    struct cg_python_roots *r = cg_python_roots_new(app_roots, 3);
    check(r, "py::heavy:/tmp/pyx/ka.py", "ka:heavy", "/tmp/pyx/ka.py");
    check(r, "py::Worker.light:/tmp/pyx/ka.py", "ka:Worker:light", "/tmp/pyx/ka.py");
    check(r, "py::<module>:/tmp/pyx/ka.py", "ka:<module>", "/tmp/pyx/ka.py");
    cg_python_roots_free(r);
}

static void longest_root_wins_and_roots_end_at_a_slash(void **state)
{
    (void)state;
    struct cg_python_roots *r = cg_python_roots_new(app_roots, 3);
    check(r, "py::run:/srv/app/pkg/jobs.py", "pkg.jobs:run", "/srv/app/pkg/jobs.py");
    check(r, "py::run:/srv/other/jobs.py", "other.jobs:run", "/srv/other/jobs.py");
    const char *const partial[] = {"/srv/ap"};
    struct cg_python_roots *p = cg_python_roots_new(partial, 1);
    check(p, "py::run:/srv/app/jobs.py", "jobs:run", "/srv/app/jobs.py");
    cg_python_roots_free(p);
    cg_python_roots_free(r);
}

static void packages_and_the_standard_library(void **state)
{
    (void)state;
    struct cg_python_roots *r = cg_python_roots_new(app_roots, 3);
    check(r, "py::XMLSchema.__init__:/usr/lib/python3/dist-packages/lxml/etree.py",
          "lxml.etree:XMLSchema:__init__", "/usr/lib/python3/dist-packages/lxml/etree.py");
    check(r, "py::array:/opt/venv/lib/python3.12/site-packages/numpy/core/_asarray.py",
          "numpy.core._asarray:array",
          "/opt/venv/lib/python3.12/site-packages/numpy/core/_asarray.py");
    check(r, "py::JSONDecoder.raw_decode:/root/.pyenv/versions/3.12.1/lib/python3.12/json/decoder.py",
          "json.decoder:JSONDecoder:raw_decode",
          "/root/.pyenv/versions/3.12.1/lib/python3.12/json/decoder.py");
    check(r, "py::fspath:/usr/lib64/python3.11/os.py", "os:fspath", "/usr/lib64/python3.11/os.py");
    /* "python3" without a minor version is not the standard library. */
    check(NULL, "py::f:/usr/lib/python3/x.py", "x:f", "/usr/lib/python3/x.py");
    cg_python_roots_free(r);
}

static void init_modules_keep_their_name(void **state)
{
    (void)state;
    struct cg_python_roots *r = cg_python_roots_new(app_roots, 3);
    check(r, "py::<module>:/srv/app/pkg/__init__.py", "pkg.__init__:<module>",
          "/srv/app/pkg/__init__.py");
    check(r, "py::Config.load:/srv/app/pkg/sub/__init__.py", "pkg.sub.__init__:Config:load",
          "/srv/app/pkg/sub/__init__.py");
    cg_python_roots_free(r);
}

static void nested_functions_classes_and_lambdas(void **state)
{
    (void)state;
    struct cg_python_roots *r = cg_python_roots_new(app_roots, 3);
    check(r, "py::outer.<locals>.inner:/srv/app/m.py", "m:inner", "/srv/app/m.py");
    check(r, "py::make.<locals>.C.run:/srv/app/m.py", "m:C:run", "/srv/app/m.py");
    check(r, "py::Outer.Inner.method:/srv/app/m.py", "m:Inner:method", "/srv/app/m.py");
    check(r, "py::<lambda>:/srv/app/m.py", "m:<lambda>", "/srv/app/m.py");
    check(r, "py::Worker.<lambda>:/srv/app/m.py", "m:Worker:<lambda>", "/srv/app/m.py");
    check(r, "py::f.<locals>.<genexpr>:/srv/app/m.py", "m:<genexpr>", "/srv/app/m.py");
    check(r, "py::f.<locals>.g.<locals>.<lambda>:/srv/app/m.py", "m:<lambda>", "/srv/app/m.py");
    cg_python_roots_free(r);
}

static void frozen_modules_and_pseudo_files(void **state)
{
    (void)state;
    check(NULL, "py::_find_and_load:<frozen importlib._bootstrap>",
          "importlib._bootstrap:_find_and_load", "<frozen importlib._bootstrap>");
    check(NULL, "py::<module>:<string>", "<string>:<module>", "<string>");
    check(NULL, "py::f:<stdin>", "<stdin>:f", "<stdin>");
}

static void files_under_no_root_and_odd_names(void **state)
{
    (void)state;
    check(NULL, "py::f:/opt/x/y/tool.py", "tool:f", "/opt/x/y/tool.py");
    check(NULL, "py::f:/tmp/a:b/m.py", "m:f", "/tmp/a:b/m.py");
    check(NULL, "py::f:relative.py", "relative:f", "relative.py");
    const char *const roots[] = {"/srv/app"};
    struct cg_python_roots *r = cg_python_roots_new(roots, 1);
    check(r, "py::main:/srv/app/bin/tool", "bin.tool:main", "/srv/app/bin/tool");
    check(r, "py::main:/srv/app/.hidden/x.py", ".hidden.x:main", "/srv/app/.hidden/x.py");
    cg_python_roots_free(r);
    check(NULL, "py::f:", "f", "");
}

static void other_names_are_refused_and_long_ones_cut(void **state)
{
    (void)state;
    char out[8];
    const char *file;
    size_t n;
    assert_int_equal(cg_python_frame_name(NULL, "LazyCompile:*foo", out, 8, &file, &n), -1);
    assert_int_equal(cg_python_frame_name(NULL, "py::nocolon", out, 8, &file, &n), -1);
    assert_false(cg_python_is_perf_name("py:f:x"));
    assert_true(cg_python_is_perf_name("py::f:x"));
    assert_int_equal(cg_python_frame_name(NULL, "py::Worker.light:/a/longmodule.py", out, 8,
                                          &file, &n),
                     0);
    assert_string_equal(out, "longmod");
}

static void roots_of_this_process_are_made(void **state)
{
    (void)state;
    struct cg_python_roots *r = cg_python_roots_of_process();
    assert_non_null(r);
    cg_python_roots_free(r);
    cg_python_roots_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(functions_and_methods_of_the_script),
        cmocka_unit_test(longest_root_wins_and_roots_end_at_a_slash),
        cmocka_unit_test(packages_and_the_standard_library),
        cmocka_unit_test(init_modules_keep_their_name),
        cmocka_unit_test(nested_functions_classes_and_lambdas),
        cmocka_unit_test(frozen_modules_and_pseudo_files),
        cmocka_unit_test(files_under_no_root_and_odd_names),
        cmocka_unit_test(other_names_are_refused_and_long_ones_cut),
        cmocka_unit_test(roots_of_this_process_are_made),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
