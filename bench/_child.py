"""Run one hsprefs command in this process, then report its own CPU and peak memory.

    python bench/_child.py REPORT.json validate examples/

The suite starts every CLI command through this file instead of the console script, so
that the figures are the command's own: CPU is user + system time of this process
(startup and imports included, as a user's run pays them), and peak memory is its own
high-water mark (see _memory.py for why not ``ru_maxrss`` of a child).
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

from _memory import peak_rss_mb


def main() -> int:
    report, args = Path(sys.argv[1]), sys.argv[2:]
    from reconciler.cli import run

    code = run(args)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures = {"exit": code, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": peak_rss_mb()}
    report.write_text(json.dumps(figures), encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main())
