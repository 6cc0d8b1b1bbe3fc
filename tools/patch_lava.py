"""Make lava-nc 0.10.0 importable on Python 3.11.

lava-nc 0.10.0 declares ``Requires-Python <3.11`` and, in
``lava/magma/compiler/var_model.py``, gives dataclass fields a mutable default
instance (``x: ByteEncoder = ByteEncoder()``).  Python 3.11's dataclasses reject
mutable (unhashable) defaults with ``ValueError: mutable default ... use
default_factory``, so ``import lava.magma`` fails.  This rewrites those fields to
``field(default_factory=ByteEncoder)``, which is what the dataclass machinery
asks for and behaves identically (every instance gets its own encoder).

Idempotent: running it twice changes nothing.  Called by tools/bootstrap.sh.
"""
import importlib.util
import pathlib
import re
import sys


def main() -> int:
    spec = importlib.util.find_spec("lava")
    if spec is None or not spec.submodule_search_locations:
        print("patch_lava: lava-nc is not installed", file=sys.stderr)
        return 1
    path = pathlib.Path(list(spec.submodule_search_locations)[0]) / "magma/compiler/var_model.py"
    src = path.read_text()
    patched = re.sub(r"^(\s+\w+: ByteEncoder) = ByteEncoder\(\)$",
                     r"\1 = field(default_factory=ByteEncoder)", src, flags=re.M)
    patched = patched.replace("from dataclasses import dataclass, InitVar\n",
                              "from dataclasses import dataclass, InitVar, field\n", 1)
    if patched != src:
        path.write_text(patched)
        print(f"patch_lava: patched {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
