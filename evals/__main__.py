"""`python -m evals SUITE ...`: the eval CLI without the main `citewire` command."""

import sys

from evals.cli import main

sys.exit(main())
