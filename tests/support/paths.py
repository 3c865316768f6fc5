"""Where the checkout, the README and the test data are (tests move between folders; these do not)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
# Singer inputs, recorded answers and other data files of the tests (no Python here)
FIXTURES = ROOT / "tests" / "fixtures"
