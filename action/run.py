"""Entry point of the hsprefs action's steps: ``python action/run.py run|comment|journal``.

It runs with the interpreter of the hsprefs the action installed; the logic is in the
``hsprefs_action`` package beside this file.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hsprefs_action.main import main

if __name__ == "__main__":
    sys.exit(main())
