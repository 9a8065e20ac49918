"""Child process of a split cold read (see hitl_tui/split_read.py): reads the threads from a pivot id onwards.

Reads a pickled request on stdin, writes the pickled list of PendingThread on stdout, exits 0; anything else
(a missing DB, a lock, a crash) exits non-zero and the parent reads that half itself.
"""

from __future__ import annotations

import gc
import pickle
import sys
from pathlib import Path


def main() -> int:
    gc.disable()  # a one-shot process building acyclic data
    from hitl_tui.errors import HitlError
    from hitl_tui.reader import CheckpointReader

    request = pickle.load(sys.stdin.buffer)  # sent by the parent process that started us
    try:
        reader = CheckpointReader(
            Path(request["path"]), request["config"], breakpoints=request["breakpoints"], split=False
        )
        threads = reader.read_range(from_=request["from"])
        reader.close()
    except HitlError:
        return 2
    pickle.dump(threads, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)  # streamed: no second copy
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
