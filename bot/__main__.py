"""`python -m bot` is `handinger-slack`."""

import sys

from .cli import main

sys.exit(main())
