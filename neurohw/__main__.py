"""``python -m neurohw``: the ``neurohw`` command (neurohw/cli.py)."""
import sys

from neurohw.cli import main

sys.exit(main())
