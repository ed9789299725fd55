"""`python -m core` runs the `choreo` command line."""

import sys

from core.cli import main

sys.exit(main())
