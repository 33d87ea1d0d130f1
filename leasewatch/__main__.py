"""``python -m leasewatch``: the only place that exits the process."""

import sys

from leasewatch.cli import main

sys.exit(main())
