"""Peak memory of the current process, measured so that a parent's size never leaks in."""

from __future__ import annotations

import resource
import sys
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's own peak resident memory, in MB.

    On Linux the figure is `VmHWM` from /proc/self/status: the high-water mark of this
    process's own address space. `ru_maxrss` is not used there, because a process started
    with vfork and exec (what `subprocess` does) inherits its parent's high-water mark: a
    40 MB child of a 300 MB pytest worker reports 300 MB. Elsewhere `ru_maxrss` is all
    there is (kilobytes, or bytes on macOS).
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
