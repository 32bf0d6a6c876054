"""`python -m cli ARGS` is `qa ARGS`."""

import sys

from cli.main import main

sys.exit(main())
