#!/usr/bin/env python3
"""Runs the AWS emulator as a process, for manual use and non-Python tests.

    python3 tests/emulator/aws_emulator.py [--config FILE.json] [--port-file F]

Prints one JSON line with the URLs (sts_url, imds_url, container_url,
container_credentials_url, codeguru_url, control_url) and, with
--port-file, writes the same JSON to F (atomically, so a reader that sees
the file sees all of it).  Runs until SIGTERM/SIGINT or POST /shutdown on
the control API, or when the process that started it dies (Linux
PR_SET_PDEATHSIG), so a crashed test leaves no emulator behind; removes the
port file on the way out.
"""
import argparse
import ctypes
import json
import os
import signal
import sys

if __package__ in (None, ""):
    # Run as a script: sys.path[0] is this folder, where emulator.py would
    # shadow the package; put tests/ there instead.
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    from emulator import Emulator
else:
    from . import Emulator


def _exit_with_parent():
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass                     # not Linux: the test must stop us itself


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", help="JSON config (see DEVELOPERS.md)")
    ap.add_argument("--port-file", help="write the URLs here as JSON")
    ap.add_argument("--region", help="overrides the config's region")
    ap.add_argument("--verbose", action="store_true", help="log every request")
    args = ap.parse_args(argv)
    config = {}
    if args.config:
        with open(args.config) as f:
            config = json.load(f)
    if args.region:
        config["region"] = args.region
    emu = Emulator(config, control=True, verbose=args.verbose).start()
    done = emu.control_app.shutdown_requested
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    _exit_with_parent()
    line = json.dumps(emu.urls(), sort_keys=True)
    try:
        if args.port_file:
            tmp = args.port_file + ".tmp"
            with open(tmp, "w") as f:
                f.write(line + "\n")
            os.replace(tmp, args.port_file)
        print(line, flush=True)
        done.wait()
    finally:
        emu.stop()
        if args.port_file:
            try:
                os.unlink(args.port_file)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
