"""``python -m blitzbench``: the same command line as ``blitzbench``."""

import sys

from blitzbench.cli import main

sys.exit(main())
