"""The README's code blocks, taken out by their section heading (shell blocks run with bash, as users do)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support.paths import README as README_PATH

README = README_PATH.read_text(encoding="utf-8")


def bash_block(section: str, n: int = 0) -> str:
    """The ``n``-th ```bash block below the heading ``section`` (and before the next heading of its level)."""
    start = README.index(section)
    level = section.split(" ", 1)[0]
    end = README.find(f"\n{level} ", start + len(section))
    blocks = re.findall(r"```bash\n(.*?)```", README[start:end if end > 0 else None], re.S)
    return blocks[n]


def run_bash(script: str, cwd: Path, env: dict[str, str], timeout: float = 600
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


# The README section "Using the Python client": its example instance and OAuth2 client
EXAMPLE_URL = "https://mautic.example.com"
CLIENT_ID = "1_3bcbxd9e24g0gk4swg0kwgcwg4o8k8g4g888kwc44gcc0gwwk4"
CLIENT_SECRET = "4ok2x70rlfokc8g0wws8c8kwcokw80k44sg48goc0ok4w0c0ko"


def section_blocks() -> list[tuple[str, str]]:
    """(language, code) of every fenced block in the section "Using the Python client", in order."""
    text = README
    start = text.index("\n## Using the Python client\n")
    end = text.index("\n## ", start + 1)
    return re.findall(r"```(\w+)\n(.*?)```", text[start:end], flags=re.S)
