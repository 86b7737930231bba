"""`python -m matcher check`."""

import sys

from matcher.cli import main

sys.exit(main())
