"""The man pages: they lint clean, `make install` puts them under
share/man (and uninstall removes them), every option `cgagent --help`
prints is in cgagent(1), and every setting the agent reads (the table in
core/agent/config.c and every CGAGENT_* / AWS_CODEGURU_PROFILER_* name
in the sources) is in cgagent.conf(5)."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("CGAGENT_BUILD", os.path.join(ROOT, "build"))
MAN1 = os.path.join(ROOT, "man", "cgagent.1")
MAN5 = os.path.join(ROOT, "man", "cgagent.conf.5")
SOURCE_ROOMS = ("core", "preload", "cli", "sts", "sigv4")


def man_text(path):
    """The page's source with roff's escaped hyphens made plain."""
    with open(path, encoding="utf-8") as f:
        return f.read().replace("\\-", "-")


def config_table():
    """(env, key) pairs of the settings table in core/agent/config.c."""
    with open(os.path.join(ROOT, "core", "agent", "config.c"), encoding="utf-8") as f:
        src = f.read()
    table = src[src.index("static const struct setting settings[]"):]
    table = table[:table.index("};")]
    pairs = re.findall(r'\{\s*"([A-Z0-9_]+)",\s*(?:"([a-z0-9_]+)"|NULL)', table)
    return pairs


def variables_read():
    names = set()
    for room in SOURCE_ROOMS:
        for dirpath, _, files in os.walk(os.path.join(ROOT, room)):
            for name in files:
                if name.endswith((".c", ".h")):
                    with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                        names.update(re.findall(
                            r'"((?:CGAGENT|AWS_CODEGURU_PROFILER)_[A-Z0-9_]+)"', f.read()))
    return names


class Lint(unittest.TestCase):
    @unittest.skipUnless(shutil.which("mandoc"), "mandoc is not installed (scripts/deps.sh)")
    def test_mandoc_lint_is_clean(self):
        proc = subprocess.run(["mandoc", "-T", "lint", MAN1, MAN5], capture_output=True,
                              text=True)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(proc.stdout + proc.stderr, "")

    @unittest.skipUnless(shutil.which("man") and shutil.which("groff"),
                         "man/groff are not installed")
    def test_man_warnings_are_clean(self):
        for page in (MAN1, MAN5):
            proc = subprocess.run(["man", "--warnings", "-l", page], capture_output=True,
                                  text=True, env=dict(os.environ, MANPAGER="cat", PAGER="cat",
                                                      MANWIDTH="80"))
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(proc.stderr, "", page)
            self.assertIn("NAME", proc.stdout)


class Coverage(unittest.TestCase):
    def test_every_help_option_and_command_is_in_cgagent_1(self):
        cli = os.path.join(BUILD, "cgagent")
        if not os.access(cli, os.X_OK):
            self.skipTest("no %s: build first" % cli)
        out = subprocess.run([cli, "--help"], capture_output=True, text=True,
                             check=True).stdout
        options = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", out))
        commands = set(re.findall(r"^\s*(?:usage:)?\s*cgagent (\w+)", out, re.M))
        self.assertGreaterEqual(len(options), 10, out)
        self.assertEqual(commands, {"run", "report", "check", "version", "help"})
        page = man_text(MAN1)
        missing = sorted(o for o in options if not re.search(
            r"(?<![\w-])%s(?![\w-])" % re.escape(o), page))
        self.assertEqual(missing, [], "options of `cgagent --help` missing from cgagent(1)")
        for c in commands:
            self.assertRegex(page, r"\.B cgagent %s\b" % c)
            self.assertRegex(page, r"\.TP\n\.B %s\n" % c, "no COMMANDS entry for %s" % c)

    def test_every_setting_and_variable_is_in_cgagent_conf_5(self):
        pairs = config_table()
        self.assertGreaterEqual(len(pairs), 17)
        page = man_text(MAN5)
        missing = []
        for env, key in pairs:
            # one entry per setting: ".BR key ", " ENV"
            if key and not re.search(r'^\.BR %s ", " %s$' % (key, env), page, re.M):
                missing.append("%s / %s" % (key, env))
        for env in sorted(variables_read()):
            if not re.search(r"\b%s\b" % env, page):
                missing.append(env)
        self.assertEqual(missing, [], "settings missing from cgagent.conf(5)")


class Install(unittest.TestCase):
    def test_install_and_uninstall_put_the_pages_in_share_man(self):
        if not os.path.exists(os.path.join(BUILD, "cgagent")):
            self.skipTest("no build in %s" % BUILD)
        with tempfile.TemporaryDirectory() as dest:
            make = ["make", "-s", "-C", ROOT, "BUILD=%s" % BUILD, "DESTDIR=%s" % dest,
                    "PREFIX=/usr"]
            subprocess.run(make + ["install"], check=True, capture_output=True)
            for rel in ("usr/share/man/man1/cgagent.1", "usr/share/man/man5/cgagent.conf.5",
                        "usr/bin/cgagent", "usr/lib/libcgagent.so",
                        "usr/lib/libcgagent-impl.so"):
                self.assertTrue(os.path.isfile(os.path.join(dest, rel)), rel)
            with open(os.path.join(dest, "usr/share/man/man1/cgagent.1"), "rb") as a, \
                    open(MAN1, "rb") as b:
                self.assertEqual(a.read(), b.read())
            subprocess.run(make + ["uninstall"], check=True, capture_output=True)
            left = [os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs]
            self.assertEqual(left, [])


if __name__ == "__main__":
    unittest.main()
