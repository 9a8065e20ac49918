"""Child process of a split cold read (see hitl_tui/split_read.py).

    python -m hitl_tui.read_worker DB PIVOT

Prints the ids of the threads from PIVOT on whose latest checkpoint may have something left to run (the byte check
only: nothing is decoded here), as JSON lists, one line per chunk as the scan goes, and exits 0. Anything else (a
missing DB, a lock, a crash) exits non-zero and the parent scans that range itself.
"""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    gc.disable()  # a one-shot process building acyclic data
    from hitl_tui.errors import HitlError
    from hitl_tui.reader import CheckpointReader

    if len(argv) != 2:
        return 2
    try:
        reader = CheckpointReader(Path(argv[0]), split=False)
        for chunk in reader.candidates_in_range(from_=argv[1]):
            # A line at a time, so the parent decodes these while this process scans on.
            sys.stdout.write(json.dumps(chunk) + "\n")
            sys.stdout.flush()
        reader.close()
    except HitlError:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
