"""``python -m mmm ARGS``: the mmm command line, run in this process by the extension."""

import sys

from . import _mmm

if __name__ == "__main__":
    sys.exit(_mmm.cli(sys.argv[1:]))
