"""docs/errors.md lists every message the agent can log at warn or error
level: each CG_WARN / CG_ERROR format string in the library's C sources
(preload/, core/, sts/, sigv4/) appears there by its most distinctive
fragment, the longest piece of literal text between conversions (%s,
%u, ...), clause breaks ("; ") and parentheses.  A new log line without
a row in docs/errors.md fails here."""
import glob
import os
import re
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCES = ("preload/*.c", "core/*/*.c", "sts/*.c", "sigv4/*.c")
CALL = re.compile(r"\bCG_(WARN|ERROR)\s*\(")
LITERAL = re.compile(r'\s*"((?:[^"\\]|\\.)*)"')
SPLIT = re.compile(r"%[-+ #0-9.*]*(?:ll|l|z|h)?[sdiuxXcpf%]|; |\(|\)")


def messages():
    """(file:line, format string) of every CG_WARN / CG_ERROR call whose
    format is a literal (adjacent literals joined)."""
    found = []
    for pattern in SOURCES:
        for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
            with open(path) as f:
                text = f.read()
            for m in CALL.finditer(text):
                parts, pos = [], m.end()
                while True:
                    lit = LITERAL.match(text, pos)
                    if not lit:
                        break
                    parts.append(lit.group(1))
                    pos = lit.end()
                where = "%s:%d" % (os.path.relpath(path, ROOT), text.count("\n", 0, m.start()) + 1)
                found.append((where, "".join(parts).replace('\\"', '"')))
    return found


def fragment(fmt):
    return max((p.strip(" ;:.'\"") for p in SPLIT.split(fmt)), key=len)


class ErrorsDocCoversEveryLogLine(unittest.TestCase):
    def test_every_warn_and_error_format_has_a_row(self):
        with open(os.path.join(ROOT, "docs", "errors.md")) as f:
            doc = f.read()
        msgs = messages()
        self.assertGreater(len(msgs), 40, "the scan found too few log calls")
        literal_less = [w for w, fmt in msgs if not fmt]
        self.assertEqual(literal_less, [], "log calls without a literal format")
        missing = ["%s: %r (look for %r)" % (w, fmt, fragment(fmt)) for w, fmt in msgs
                   if fragment(fmt) not in doc]
        self.assertEqual(missing, [], "messages not in docs/errors.md")

    def test_fragments_are_distinctive(self):
        short = [(w, fragment(f)) for w, f in messages() if len(fragment(f)) < 12]
        self.assertEqual(short, [], "a format whose longest literal piece is too short "
                         "to find in the docs")


if __name__ == "__main__":
    unittest.main()
