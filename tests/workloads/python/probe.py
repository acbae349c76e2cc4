"""Prints what a Python program sees of the agent: whether the perf
trampoline is on, whether PYTHONPERFSUPPORT is in os.environ, and what a
child process finds in its environment."""
import os
import subprocess
import sys

print("trampoline", getattr(sys, "is_stack_trampoline_active", lambda: None)())
print("environ", "PYTHONPERFSUPPORT" in os.environ)
child = subprocess.run(["/usr/bin/env"], capture_output=True, text=True).stdout
print("child", "PYTHONPERFSUPPORT" in child)
