"""Recorded AMI streams through the pipeline: ``telmon replay`` and ``telmon backfill`` read files here.

An adapter around :class:`~monitor.pipeline.Pipeline`: it reads files a chunk at
a time; all judging happens in the pipeline, and what becomes of a call is up
to the sinks (``monitor/sinks.py``, ``monitor/storage/sink.py``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from .pipeline import Pipeline

__all__ = ["replay_files"]

CHUNK = 1 << 20   # read recordings a MiB at a time: memory stays flat on a year of history


def replay_files(pipeline: Pipeline, paths: Iterable[Path]) -> None:
    """Feed recorded streams, one after the other, as fast as they can be read.

    One tracker spans all files (a capture split across files still assembles);
    each file gets its own decoder because each starts with its own banner.
    """
    for path in paths:
        with open(path, "rb") as fh:
            while True:
                chunk = fh.read(CHUNK)
                if not chunk:
                    break
                pipeline.feed_bytes(chunk, source=str(path))
        pipeline.end_stream(source=str(path))
