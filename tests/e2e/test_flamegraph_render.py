"""The flame graph as a person sees it (issue 6): `cgagent report
--flamegraph` output rendered by headless Chromium, then the screenshot is
read back (PNG decoded with the standard library) and its bars measured.

The known-answer workload's graph must show, side by side in one row, the
two busy threads' entry functions with widths in proportion to their
sample counts in the document, and in another row leaf_gamma, route_one and
route_two likewise: what the picture shows is what the profile says.
"""
import os
import shutil
import struct
import subprocess
import tempfile
import unittest
import zlib

from e2e import profiles as P

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
KNOWN = os.path.join(P.WORKLOADS, "known_answer")
WIDTH, HEIGHT = 1200, 700


def read_png(path):
    """(width, height, rows of (r, g, b)) of an 8-bit RGB/RGBA PNG."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, ihdr
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(w)])
        prev = line
    return w, h, rows


def segments(row):
    """Runs of one fill colour wider than 8 px: [(x0, x1, colour)].  Pale
    background and dark text pixels are not fills."""
    out, start, colour = [], None, None
    for x, px in enumerate(row + [(255, 255, 255)]):
        fill = min(px) < 235 and max(px) > 120  # not background, not text
        if fill and px == colour:
            continue
        if colour is not None and x - start > 8:
            out.append((start, x, colour))
        start, colour = (x, px) if fill else (None, None)
    return out


def node(doc, *names):
    n = doc["callgraph"]
    for name in names:
        n = n["children"][name]
    return n


def total(n, key="RUNNABLE"):
    return n.get("counts", {}).get(key, 0) + sum(total(c, key) for c in n.get("children", {}).values())


@unittest.skipUnless(CHROMIUM, "chromium is not installed")
class FlameGraphPicture(unittest.TestCase):
    def test_bars_are_as_wide_as_the_profile_says(self):
        with tempfile.TemporaryDirectory(prefix="cgagent-flame-") as tmp:
            out = os.path.join(tmp, "out")
            r = P.run_profiled([KNOWN, "0.5"], out)
            self.assertEqual(r.returncode, 0)
            doc = P.load(P.documents(out)[0])
            svg = os.path.join(tmp, "flame.svg")
            rep = P.run([P.CLI, "report", "--flamegraph", svg, out], P.clean_env())
            self.assertEqual(rep.returncode, 0, rep.stderr)
            png = os.path.join(tmp, "shot.png")
            shot = subprocess.run([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
                                   "--hide-scrollbars", "--window-size=%d,%d" % (WIDTH, HEIGHT),
                                   "--screenshot=" + png, "file://" + svg],
                                  capture_output=True, timeout=120,
                                  env=dict(P.clean_env(), HOME=tmp))
            self.assertTrue(os.path.exists(png), shot.stderr.decode()[-2000:])
            w, h, rows = read_png(png)
        self.assertEqual((w, h), (WIDTH, HEIGHT))
        # Siblings are drawn left to right by name, so the bars expected in
        # row d are the depth-d nodes in depth-first, name-sorted order.
        everything = total(doc["callgraph"])
        graph = max(sum(x1 - x0 for x0, x1, _ in segments(row)) for row in rows)
        min_frac = 12.0 / graph  # thinner bars carry no label; leave them out

        def at_depth(n, d, names=()):
            if d == 0:
                return [(names, total(n))]
            out = []
            for name, child in sorted(n.get("children", {}).items()):
                out += at_depth(child, d - 1, names + (name,))
            return out

        def matches(segs, want):
            fracs = [(x1 - x0) / graph for x0, x1, _ in segs if (x1 - x0) / graph >= min_frac]
            return len(fracs) == len(want) and all(abs(f - w) < 0.015 for f, w in zip(fracs, want))

        for depth in (3, 4):  # the busy threads; leaf_gamma and the two routes
            want = [(names[-1], n / everything) for names, n in at_depth(doc["callgraph"], depth)
                    if n / everything >= min_frac]
            fracs = [w for _, w in want]
            self.assertTrue(any(matches(segments(row), fracs) for row in rows),
                            "no row of the picture shows %s" % want)
        self.assertIn("busy_a", str(at_depth(doc["callgraph"], 3)))
        self.assertGreater(graph, 0.9 * WIDTH)


if __name__ == "__main__":
    unittest.main()
