"""Child process of a split cold read (see hitl_tui/checkpoints/split_read.py).

    python -m hitl_tui.checkpoints.split_child DB   < settings, then chunk grants, from the parent

Reads the settings and the list of chunks (split_read.write_settings), then, in one snapshot, reads and classifies
each chunk the parent grants, writing its unfinished threads as pickled frames (split_read.write_frame) a batch
at a time as the scan goes, then a done-mark for the chunk; exits 0 when the parent says stop. Anything else (a
missing DB, a lock, a crash) exits non-zero, and the parent reads what this process had been granted itself.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from pathlib import Path


def main(argv: list[str]) -> int:
    gc.disable()  # a one-shot process building acyclic data
    from hitl_tui.checkpoints.reader import CheckpointReader
    from hitl_tui.checkpoints.split_read import Chunk, grants, read_settings, write_done, write_frame
    from hitl_tui.errors import HitlError

    if len(argv) != 1:
        return 2
    stdin, out = sys.stdin.buffer, sys.stdout.buffer
    config, breakpoints, chunks = read_settings(stdin)

    def granted() -> Iterator[Chunk]:
        for chunk in grants(stdin):
            yield chunks[chunk]
            write_done(out, chunk)  # the reader asks for the next range only once this one is sent

    try:
        reader = CheckpointReader(Path(argv[0]), config, breakpoints=breakpoints, split=False)
        reader.stream(lambda batch: write_frame(out, list(batch)), ranges=granted())
        reader.close()
    except HitlError:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
