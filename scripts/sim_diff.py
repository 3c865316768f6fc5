"""Differential check of the simulator against a real Mautic 5.1.0 (``python -m scripts.sim_diff --help``)."""

from __future__ import annotations

import sys

from tests.support.differential.runner import main

if __name__ == "__main__":
    sys.exit(main())
