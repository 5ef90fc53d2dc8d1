"""``python -m blitzbench``: the same command line as ``blitzbench``."""

import sys

from blitzbench.cli import main

if __name__ == "__main__":  # not when a spawned process re-imports the main module
    sys.exit(main())
