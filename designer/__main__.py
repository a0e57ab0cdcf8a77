"""`python -m designer` is `pipeline-designer`."""

from designer.cli import entry

entry()
