#!/usr/bin/env python3
"""Build cgagent's AWS Lambda layer: a zip that Lambda extracts into /opt.

    python3 scripts/lambda-layer.py --dist build/cgagent-0.1.0-linux-x86_64.tar.gz \
        --output build/cgagent-lambda-layer.zip

(what `make lambda-layer` runs, after `make dist`).  The zip holds

    cgagent-wrapper          the AWS_LAMBDA_EXEC_WRAPPER script (examples/lambda/)
    lib/libcgagent.so        the agent's preload shim    } from the portable
    lib/libcgagent-impl.so   the agent, which it loads    } tarball: glibc 2.17
    bin/cgagent              the command                  } or newer, nothing else
    share/doc/cgagent/       the tarball's README, deps.lock and licences

No other library: the tarball's files need only glibc, which the runtime
has (Amazon Linux 2023's 2.34, Amazon Linux 2's 2.26), and libcurl, which
the agent loads at run time from the runtime's libcurl.so.4.  The script
refuses a tarball with any other ELF file in it.

Standard library only; nothing is downloaded.
"""
import argparse
import os
import stat
import sys
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WRAPPER = os.path.join(ROOT, "examples", "lambda", "cgagent-wrapper")
AGENT_FILES = ("lib/libcgagent.so", "lib/libcgagent-impl.so", "bin/cgagent")


def add(z, data, name, mode):
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix: external_attr carries the mode
    info.external_attr = (stat.S_IFREG | mode) << 16
    z.writestr(info, data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dist", required=True, help="the portable tarball (make dist)")
    ap.add_argument("--output", required=True)
    args = ap.parse_args()
    if not os.path.exists(args.dist):
        sys.exit("lambda-layer: %s is missing: run make dist first" % args.dist)
    tmp = args.output + ".tmp"
    with tarfile.open(args.dist) as t, zipfile.ZipFile(tmp, "w") as z:
        with open(WRAPPER, "rb") as f:
            add(z, f.read(), "cgagent-wrapper", 0o755)
        members = {m.name.split("/", 1)[1]: m for m in t.getmembers()
                   if m.isfile() and "/" in m.name}
        for name, m in sorted(members.items()):
            data = t.extractfile(m).read()
            if data[:4] == b"\x7fELF" and name not in AGENT_FILES:
                sys.exit("lambda-layer: %s holds %s, which is not the agent's" % (args.dist, name))
            if name in AGENT_FILES or name.startswith("share/doc/"):
                add(z, data, name, 0o755 if name.startswith("bin/") else 0o644)
        missing = [n for n in AGENT_FILES if n not in members]
        if missing:
            sys.exit("lambda-layer: %s lacks %s" % (args.dist, ", ".join(missing)))
    os.replace(tmp, args.output)
    print("lambda-layer: %s (from %s)" % (args.output, os.path.basename(args.dist)))


if __name__ == "__main__":
    main()
