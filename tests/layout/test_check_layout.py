"""scripts/check-layout.py: the tree follows its rooms' order, and the
checker catches what it is there to catch (each test plants one problem
in a small tree of its own)."""
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECKER = os.path.join(ROOT, "scripts", "check-layout.py")
BUILD = os.environ.get("CGAGENT_BUILD", os.path.join(ROOT, "build"))

CONTRACT = "/*\n * %s - a test module.\n *\n * Owns: nothing.\n * Thread safety: any thread.\n" \
           " * Signal safety: none.\n */\n"


def run_checker(root, *args):
    proc = subprocess.run([sys.executable, CHECKER, "--root", root, *args],
                          capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout + proc.stderr


class TheTree(unittest.TestCase):
    def test_the_tree_follows_its_layout_rules(self):
        args = ["--build", BUILD] if os.path.isdir(os.path.join(BUILD, "obj")) else []
        rc, out = run_checker(ROOT, *args)
        self.assertEqual(rc, 0, out)
        self.assertIn("check-layout: ok:", out)


class Catches(unittest.TestCase):
    """Each test builds a tree that is clean but for one planted problem."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="cgagent-layout.")
        self.addCleanup(shutil.rmtree, self.root)
        self.write("core/base/log.h", CONTRACT % "log.h")
        self.write("core/base/log.c", '#include "core/base/log.h"\nint cg_log_x(void) { return 1; }\n')
        self.write("core/agent/agent.h", CONTRACT % "agent.h")
        self.write("core/agent/agent.c", '#include "core/agent/agent.h"\n#include "core/base/log.h"\n')
        self.write("core/upload/uploader_internal.h", CONTRACT % "uploader_internal.h")
        self.write("cli/cli.h", CONTRACT % "cli.h")
        self.write("preload/preload.c", '#include "core/agent/agent.h"\n')
        self.write("docs/internals.md", "See core/agent/agent.c and core/base/log.h.\n")

    def write(self, path, text):
        full = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)

    def assertCaught(self, kind, *words):
        rc, out = run_checker(self.root)
        self.assertEqual(rc, 1, out)
        lines = [l for l in out.splitlines() if l.startswith("check-layout: %s:" % kind)]
        self.assertEqual(len(lines), 1, out)
        for w in words:
            self.assertIn(w, lines[0])

    def test_the_planted_tree_is_clean_to_begin_with(self):
        rc, out = run_checker(self.root)
        self.assertEqual(rc, 0, out)

    def test_an_upward_include_is_caught(self):
        self.write("core/base/log.c", '#include "core/base/log.h"\n\n#include "core/agent/agent.h"\n')
        self.assertCaught("up", "core/base/log.c:3", "core/agent/agent.h")

    def test_an_include_from_the_sampler_into_symbols_is_caught(self):
        self.write("core/symbols/symbolizer.h", CONTRACT % "symbolizer.h")
        self.write("core/sample/wall.c", '#include "core/symbols/symbolizer.h"\n')
        self.assertCaught("up", "core/sample/wall.c", "core/symbols/symbolizer.h")

    def test_a_sideways_include_between_entry_points_is_caught(self):
        self.write("preload/handler.c", '#include "cli/cli.h"\n')
        self.assertCaught("sideways", "preload/handler.c", "cli/cli.h")

    def test_a_private_header_of_another_room_is_caught(self):
        self.write("core/agent/agent.c", '#include "core/upload/uploader_internal.h"\n')
        self.assertCaught("private", "core/agent/agent.c", "uploader_internal.h")

    def test_a_file_outside_every_room_is_caught(self):
        self.write("core/stray.c", "int cg_stray;\n")
        self.assertCaught("room", "core/stray.c")

    def test_an_include_of_a_missing_file_is_caught(self):
        self.write("core/agent/agent.c", '#include "core/agent.h"\n')
        self.assertCaught("include", "core/agent/agent.c:1", "core/agent.h")

    def test_a_long_file_is_caught(self):
        self.write("core/agent/agent.c", "/* line */\n" * 601)
        self.assertCaught("size", "core/agent/agent.c", "601 lines")

    def test_a_header_without_its_contract_is_caught(self):
        self.write("core/base/log.h", "/*\n * log.h - no contract.\n */\n")
        self.assertCaught("header", "core/base/log.h", "Owns:", "Signal safety:")

    def test_a_doc_naming_a_missing_file_is_caught(self):
        self.write("docs/internals.md", "The agent is core/agent.c.\n")
        self.assertCaught("doc", "docs/internals.md:1", "core/agent.c")

    @unittest.skipUnless(shutil.which("cc") and shutil.which("nm"), "needs cc and nm")
    def test_a_call_that_reaches_up_without_an_include_is_caught(self):
        # core/base calls a function core/agent defines, declared by hand.
        self.write("core/base/log.c", textwrap.dedent("""\
            #include "core/base/log.h"
            int cg_agent_secret(void);
            int cg_log_x(void) { return cg_agent_secret(); }
            """))
        self.write("core/agent/agent.c", textwrap.dedent("""\
            #include "core/agent/agent.h"
            int cg_agent_secret(void) { return 42; }
            """))
        build = os.path.join(self.root, "build")
        for src in ("core/base/log.c", "core/agent/agent.c"):
            obj = os.path.join(build, "obj", src[:-2] + ".o")
            os.makedirs(os.path.dirname(obj), exist_ok=True)
            subprocess.run(["cc", "-c", "-I", self.root, "-o", obj,
                            os.path.join(self.root, src)], check=True)
        rc, out = run_checker(self.root, "--build", build)
        self.assertEqual(rc, 1, out)
        self.assertIn("check-layout: link up: core/base/log.c (core/base) calls "
                      "cg_agent_secret, defined in core/agent/agent.c", out)


if __name__ == "__main__":
    unittest.main()
