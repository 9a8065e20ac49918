"""Child process of a split cold read (see hitl_tui/checkpoints/split_read.py).

    python -m hitl_tui.checkpoints.split_child DB PIVOT  < pickled (config, breakpoints) from the parent

Reads and classifies the unfinished threads from PIVOT on, in its own snapshot, and writes them as pickled
frames (split_read.write_frame), a batch at a time as the scan goes, then exits 0. Anything else (a missing DB,
a lock, a crash) exits non-zero and the parent reads that range itself.
"""

from __future__ import annotations

import gc
import pickle
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    gc.disable()  # a one-shot process building acyclic data
    from hitl_tui.checkpoints.reader import CheckpointReader
    from hitl_tui.checkpoints.split_read import write_frame
    from hitl_tui.errors import HitlError

    if len(argv) != 2:
        return 2
    settings = sys.stdin.buffer.read()
    # The settings come from the parent that started us (our own pickle, over our own pipe).
    config, breakpoints = pickle.loads(settings) if settings else (None, None)
    out = sys.stdout.buffer
    try:
        reader = CheckpointReader(Path(argv[0]), config, breakpoints=breakpoints, split=False)
        reader.stream(lambda batch: write_frame(out, list(batch)), from_=argv[1])
        reader.close()
    except HitlError:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
