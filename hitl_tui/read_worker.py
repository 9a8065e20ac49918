"""Child process of a split cold read (see hitl_tui/split_read.py).

    python -m hitl_tui.read_worker DB PIVOT

Prints, as one JSON list, the ids of the threads from PIVOT on whose latest checkpoint may have something left
to run (the byte check only: nothing is decoded here), and exits 0. Anything else (a missing DB, a lock, a
crash) exits non-zero and the parent scans that range itself.
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
        ids = reader.candidates_in_range(from_=argv[1])
        reader.close()
    except HitlError:
        return 2
    sys.stdout.write(json.dumps(ids))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
