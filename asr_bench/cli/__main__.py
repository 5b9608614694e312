"""`python -m asr_bench.cli`: the `asr-bench` command where no entry point is installed (e.g. a bare GPU image)."""

import sys

from asr_bench.cli import main

sys.exit(main())
