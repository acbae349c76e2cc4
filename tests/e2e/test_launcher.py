"""End to end: the cgagent command (run, report)."""
import os
import shutil
import subprocess
import unittest

from e2e import profiles as P

WORKLOAD = os.path.join(P.WORKLOADS, "known_answer")

# A stand-in for a library someone plants where a child would look for it:
# loaded into any process, it appends that process's pid to $PLANTED_MARKER.
PLANTED_SRC = r"""
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
__attribute__((constructor)) static void planted(void)
{
    const char *m = getenv("PLANTED_MARKER");
    FILE *f = m ? fopen(m, "a") : NULL;
    if (f) {
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
    }
}
"""


def build_planted(where, rel):
    """Compiles the planted library to WHERE/REL; returns its path."""
    out = os.path.join(where, rel)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    src = out + ".c"
    with open(src, "w") as f:
        f.write(PLANTED_SRC)
    subprocess.run([shutil.which("cc") or "cc", "-shared", "-fPIC", "-o", out, src],
                   check=True, capture_output=True, timeout=120)
    os.unlink(src)
    return out


def install_copy(prefix, libdir):
    """cgagent in PREFIX/bin and the agent (shim and impl) in PREFIX/LIBDIR,
    as `make install` (lib) or the build tree (bin) lays them out."""
    os.makedirs(os.path.join(prefix, "bin"), exist_ok=True)
    os.makedirs(os.path.join(prefix, libdir), exist_ok=True)
    shutil.copy2(P.CLI, os.path.join(prefix, "bin", "cgagent"))
    for lib in (P.LIB, P.IMPL) if P.SPLIT else (P.LIB,):
        shutil.copy2(lib, os.path.join(prefix, libdir))
    return os.path.join(prefix, "bin", "cgagent")


class Launcher(unittest.TestCase):
    def test_run_preloads_and_writes_to_default_dir_then_report_reads_it(self):
        with P.TempDir() as cwd:
            r = subprocess.run([P.CLI, "run", "--", WORKLOAD, "0.25"], cwd=cwd,
                               env=P.clean_env(), capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b"known_answer: done", r.stdout)
            outdir = os.path.join(cwd, "cgagent-profiles")
            docs = P.documents(outdir)
            self.assertEqual(len(docs), 1)
            rep = subprocess.run([P.CLI, "report", outdir], env=P.clean_env(),
                                 capture_output=True, timeout=60)
            self.assertEqual(rep.returncode, 0, rep.stderr)
            text = rep.stdout.decode()
            self.assertIn("RUNNABLE", text)
            # leaf_beta has half the CPU: it heads the self list.
            self_section = text[text.index("RUNNABLE"):]
            first = [l for l in self_section.splitlines() if "leaf_" in l][0]
            self.assertIn("leaf_beta", first, text)

    def test_report_writes_a_flame_graph_svg_with_the_known_shares(self):
        import re
        import xml.etree.ElementTree as ET
        with P.TempDir() as d:
            out = os.path.join(d, "p")
            # 10 CPU-seconds, about 1,000 samples: leaf_beta's 50% then has
            # a binomial standard error of 1.6 points and busy_a's 75% of 1.4,
            # so the 6-point bands are 3.8 and 4.4 of them (odds below 2e-4).
            r = subprocess.run([P.CLI, "run", "--output", out, "--", WORKLOAD, "2.5"],
                               env=P.clean_env(), capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0)
            svg = os.path.join(d, "flame.svg")
            rep = subprocess.run([P.CLI, "report", "--flamegraph", svg, out],
                                 env=P.clean_env(), capture_output=True, timeout=60)
            self.assertEqual(rep.returncode, 0, rep.stderr)
            root = ET.parse(svg).getroot()  # well-formed, self-contained
            ns = "{http://www.w3.org/2000/svg}"
            titles = [t.text for t in root.iter(ns + "title")]
            share = {}
            for t in titles:
                m = re.match(r"(\S+) \[.*\]\n(\d+) samples, ([\d.]+)%", t)
                if m:
                    share[m.group(1)] = float(m.group(3))
            self.assertAlmostEqual(share["leaf_beta"], 50.0, delta=6)
            self.assertAlmostEqual(share["busy_a"], 75.0, delta=6)
            self.assertAlmostEqual(share["start_thread"], 100.0, delta=1)

    def test_run_passes_exit_status_through_and_reports_missing_command(self):
        with P.TempDir() as out:
            r = subprocess.run([P.CLI, "run", "--output", out, "--", "sh", "-c", "exit 7"],
                               env=P.clean_env(), capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 7)
            r = subprocess.run([P.CLI, "run", "--output", out, "--", "/nonexistent/prog"],
                               env=P.clean_env(), capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 127)
            self.assertIn(b"cannot execute /nonexistent/prog", r.stderr)

    def test_report_on_a_garbage_file_says_so(self):
        with P.TempDir() as d:
            bad = os.path.join(d, "bad.json")
            with open(bad, "w") as f:
                f.write("{not json")
            r = subprocess.run([P.CLI, "report", bad], env=P.clean_env(),
                               capture_output=True, timeout=60)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(b"bad.json", r.stderr + r.stdout)

    def test_usage_errors_exit_2(self):
        for argv in ([P.CLI], [P.CLI, "run"], [P.CLI, "frobnicate"], [P.CLI, "report"]):
            r = subprocess.run(argv, env=P.clean_env(), capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 2, argv)


class LauncherLibraryPath(unittest.TestCase):
    """Issue 28, item 5: ld.so splits LD_PRELOAD at spaces and colons, so a
    library path holding one made every child preload its tail relative to
    the child's working directory.  Such a path is refused with one line,
    status 1, and the program is not started."""

    def assert_refused(self, r, lib, cwd, marker, source):
        """Refused: nothing loaded or run, status 1, one line."""
        self.assertFalse(os.path.exists(marker), "the planted library was loaded")
        self.assertEqual(r.stdout, b"", "the program ran")
        self.assertFalse(os.path.exists(os.path.join(cwd, "ran")), "the program ran")
        self.assertFalse(os.path.exists(os.path.join(cwd, "out")))
        self.assertEqual(r.returncode, 1, r.stderr)
        lines = r.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("cgagent run: refusing to preload %s (%s)" % (lib, source), lines[0])
        self.assertIn("without spaces, colons or '$'", lines[0])

    def test_an_install_under_a_space_colon_or_dollar_is_refused_and_nothing_runs(self):
        # $ORIGIN in LD_PRELOAD is the program's directory (sh's here).
        origin = os.path.dirname(os.path.realpath(shutil.which("sh")))
        # (install dir, where the agent sits in it, the file ld.so would
        # have loaded, relative to the test's directory: the child runs in
        # cwd/)
        for name, libdir, planted in (
                ("my dir", "bin", "cwd/dir/bin/libcgagent.so"),
                ("a:b", "lib", "cwd/b/lib/libcgagent.so"),
                ("x$ORIGIN", "lib", "x" + origin + "/lib/libcgagent.so")):
            with self.subTest(name=name), P.TempDir() as d:
                cli = install_copy(os.path.join(d, name), libdir)
                cwd = os.path.join(d, "cwd")
                os.makedirs(cwd)
                build_planted(d, planted)
                marker = os.path.join(d, "marker")
                r = subprocess.run([cli, "run", "--output", "out", "--", "sh", "-c",
                                    "echo ran; : > ran"],
                                   cwd=cwd, env=P.clean_env(PLANTED_MARKER=marker),
                                   capture_output=True, timeout=60)
                lib = os.path.join(os.path.realpath(d), name, libdir, "libcgagent.so")
                self.assert_refused(r, lib, cwd, marker, "installed with cgagent")

    def test_cgagent_library_with_a_space_or_colon_is_refused_and_nothing_runs(self):
        for name, tail in (("my dir", "dir/libcgagent.so"), ("x:y", "y/libcgagent.so")):
            with self.subTest(name=name), P.TempDir() as d:
                os.makedirs(os.path.join(d, name))
                lib = os.path.join(os.path.realpath(d), name, "libcgagent.so")
                shutil.copy2(P.LIB, lib)
                cwd = os.path.join(d, "cwd")
                build_planted(cwd, tail)
                marker = os.path.join(d, "marker")
                r = subprocess.run([P.CLI, "run", "--output", "out", "--", "sh", "-c",
                                    "echo ran; : > ran"],
                                   cwd=cwd, env=P.clean_env(PLANTED_MARKER=marker,
                                                            CGAGENT_LIBRARY=lib),
                                   capture_output=True, timeout=60)
                self.assert_refused(r, lib, cwd, marker, "CGAGENT_LIBRARY")

    def test_a_relative_cgagent_library_is_preloaded_by_its_absolute_path(self):
        with P.TempDir() as d:
            install_copy(d, "lib")
            r = subprocess.run([P.CLI, "run", "--output", "out", "--", "sh", "-c",
                                'cd / && printf "%s\\n" "$LD_PRELOAD" && grep -c libcgagent.so '
                                "/proc/self/maps"],
                               cwd=d, env=P.clean_env(CGAGENT_LIBRARY="lib/libcgagent.so",
                                                      CGAGENT_ENABLED="false"),
                               capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            lib = os.path.join(os.path.realpath(d), "lib", "libcgagent.so")
            preload, mapped = r.stdout.decode().splitlines()
            self.assertEqual(preload, lib)
            self.assertNotIn(b"ld.so", r.stderr)
            self.assertGreater(int(mapped), 0, "not loaded after cd /")

    def test_a_preload_list_naming_a_longer_path_still_gets_the_agent(self):
        # The list held the agent's path only as a prefix of another entry:
        # it was taken for "already preloaded" and the agent was left out.
        with P.TempDir() as d:
            install_copy(d, "lib")
            lib = os.path.join(os.path.realpath(d), "lib", "libcgagent.so")
            other = build_planted(d, "lib/libcgagent.so.old")
            r = subprocess.run([P.CLI, "run", "--output", "out", "--", "sh", "-c",
                                'printf %s "$LD_PRELOAD"'],
                               cwd=d, env=P.clean_env(CGAGENT_LIBRARY=lib, LD_PRELOAD=other,
                                                      CGAGENT_ENABLED="false"),
                               capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.decode().split(" "), [lib, other])


if __name__ == "__main__":
    unittest.main()
