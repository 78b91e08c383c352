"""``python -m calculator.cli``: the ``hcc-prognosis`` console script."""

import sys

from calculator.cli.main import main

sys.exit(main())
