#!/usr/bin/env python3
"""Build cgagent's AWS Lambda layer: a zip that Lambda extracts into /opt.

    python3 scripts/lambda-layer.py --build build --output build/cgagent-lambda-layer.zip

(what `make lambda-layer` runs).  The zip holds

    cgagent-wrapper          the AWS_LAMBDA_EXEC_WRAPPER script (examples/lambda/)
    lib/libcgagent.so        the agent's preload shim
    lib/libcgagent-impl.so   the agent, which the shim loads
    lib/<its libraries>      every shared library the agent needs that is not
                             part of glibc (libunwind, jansson, mbedTLS, ...),
                             copied from this machine, as ldd resolves them
    bin/cgagent              the command, for `cgagent check` in a function

libcurl is not copied: the agent loads it at run time, and Lambda's
Amazon Linux 2023 has libcurl.so.4.  glibc is not copied either; the
script prints the newest glibc symbol version the agent needs, which must
not exceed the runtime's (2.34 on Amazon Linux 2023: build there, e.g. in
the public.ecr.aws/lambda/provided:al2023 image, for a layer to deploy).

Standard library only; nothing is downloaded.
"""
import argparse
import os
import re
import stat
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WRAPPER = os.path.join(ROOT, "examples", "lambda", "cgagent-wrapper")
# Part of glibc: the runtime's own copies must be used.
GLIBC = re.compile(r"^(libc|libm|libdl|libpthread|librt|libresolv|libutil|ld-linux[\w-]*)\.so")


def needed_libraries(lib):
    """(name, path) of every library ldd resolves for LIB, glibc left out."""
    out = subprocess.run(["ldd", lib], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        m = re.match(r"\s*(\S+) => (/\S+)", line)
        if m and not GLIBC.match(m.group(1)):
            found.append((m.group(1), m.group(2)))
        elif "not found" in line:
            sys.exit("lambda-layer: %s: a library is not found: %s" % (lib, line.strip()))
    return found


def glibc_needed(lib):
    out = subprocess.run(["objdump", "-T", lib], capture_output=True, text=True).stdout
    versions = {tuple(int(x) for x in v.split(".")) for v in re.findall(r"GLIBC_([\d.]+)", out)}
    return ".".join(map(str, max(versions))) if versions else None


def add(z, path, name, mode):
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix: external_attr carries the mode
    info.external_attr = (stat.S_IFREG | mode) << 16
    with open(path, "rb") as f:
        z.writestr(info, f.read())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--output", required=True)
    args = ap.parse_args()
    lib = os.path.join(args.build, "libcgagent.so")
    impl = os.path.join(args.build, "libcgagent-impl.so")
    cli = os.path.join(args.build, "cgagent")
    for p in (lib, cli):
        if not os.path.exists(p):
            sys.exit("lambda-layer: %s is missing: run make first" % p)
    tmp = args.output + ".tmp"
    with zipfile.ZipFile(tmp, "w") as z:
        add(z, WRAPPER, "cgagent-wrapper", 0o755)
        add(z, lib, "lib/libcgagent.so", 0o755)
        agent = [lib]
        if os.path.exists(impl):  # sanitizer builds have one library
            add(z, impl, "lib/libcgagent-impl.so", 0o755)
            agent.append(impl)
        copied = {}
        for name, path in sum((needed_libraries(p) for p in agent + [cli]), []):
            if name not in copied:
                copied[name] = path
                add(z, os.path.realpath(path), "lib/" + name, 0o755)
        add(z, cli, "bin/cgagent", 0o755)
    os.replace(tmp, args.output)
    print("lambda-layer: %s (%d libraries; needs glibc >= %s)"
          % (args.output, len(copied), glibc_needed(lib) or "?"))


if __name__ == "__main__":
    main()
