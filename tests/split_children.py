"""Misbehaving children for a split cold read (tests/test_reader_split.py): run as `python split_children.py KIND DB`
with the parent's settings and grants on stdin, as hitl_tui.checkpoints.split_child is."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from hitl_tui.checkpoints import split_child, split_read
from hitl_tui.checkpoints.reader import CheckpointReader


def main(kind: str, db: str) -> int:
    if kind == "slow":  # starts a second late: the parent takes most chunks, the child the two it was granted
        time.sleep(1.0)
        return split_child.main([db])
    stdin, out = sys.stdin.buffer, sys.stdout.buffer
    config, breakpoints, chunks = split_read.read_settings(stdin)
    reader = CheckpointReader(Path(db), config, breakpoints=breakpoints, split=False)
    granted = split_read.grants(stdin)
    if kind == "half_then_die":  # finishes one chunk, hands over part of the next, then crashes
        chunk = next(granted)
        split_read.write_frame(out, reader.read_range(from_=chunks[chunk][0], below=chunks[chunk][1]))
        split_read.write_done(out, chunk)
        chunk = next(granted)
        split_read.write_frame(out, reader.read_range(from_=chunks[chunk][0], below=chunks[chunk][1])[:2])
        return 1
    if kind == "done_then_close_stdin":  # finishes a chunk, then its stdin goes away while it lingers
        chunk = next(granted)
        split_read.write_frame(out, reader.read_range(from_=chunks[chunk][0], below=chunks[chunk][1]))
        split_read.write_done(out, chunk)
        os.close(0)
        time.sleep(3)
        return 1
    if kind == "int_thread_id":  # a thread whose id is not text: the parent sorts and bisects ids
        chunk = next(granted)
        threads = reader.read_range(from_=chunks[chunk][0], below=chunks[chunk][1])
        split_read.write_frame(out, [dataclasses.replace(threads[0], thread_id=12345)])
        return 1
    if kind == "bogus_header":  # a header announcing a 1 GiB frame, then the end of the pipe
        out.write(b"\x3f\xff\xff\xff")
        return 1
    if kind == "stray_then_lots":  # stray text on stdout, then far more than a pipe holds, then stays
        out.write(b"oops: stray text on stdout\n")
        everything = reader.read_range()
        for _ in range(50):
            split_read.write_frame(out, everything)
        time.sleep(30)
        return 0
    if kind == "stuck":  # alive, silent
        time.sleep(30)
        return 0
    if kind == "stray":  # also sends the threads of a chunk the parent reads itself, then works as it should
        split_read.write_frame(out, reader.read_range(from_=chunks[0][0], below=chunks[0][1]))

        def ranges() -> Iterator[split_read.Chunk]:
            for chunk in granted:
                yield chunks[chunk]
                split_read.write_done(out, chunk)

        reader.stream(lambda batch: split_read.write_frame(out, list(batch)), ranges=ranges())
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
