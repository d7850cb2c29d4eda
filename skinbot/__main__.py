"""`python -m skinbot` is the same as the `skinbot` command."""

import sys

from skinbot.cli import main

sys.exit(main())
