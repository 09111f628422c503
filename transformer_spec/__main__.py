"""``python -m transformer_spec``: the command line, runnable from a source tree."""
import sys

from transformer_spec.cli import main

sys.exit(main())
