"""`python -m choreo_studio` runs the `choreo` command line (the same as `python -m core`)."""

import sys

from choreo_studio.core.cli import main

sys.exit(main())
