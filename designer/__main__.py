"""`python -m designer` is `pipeline-designer`."""

import sys

from designer.cli import main

sys.exit(main())
