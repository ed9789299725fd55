"""`python -m choreo_studio.core` runs the `choreo` command line."""

import sys

from choreo_studio.core.cli import main

sys.exit(main())
