"""FFmpeg's own reading of a stream's headers, to check Revival's parsers against.

FFmpeg's ``trace_headers`` bitstream filter logs every syntax element its coded-bitstream
parser reads (HEVC, AV1, H.264, ...), one line each, ending ``<bits> = <value>``.

Example:
    >>> trace_headers("clip.mkv")[:1]  # doctest: +SKIP
    [('sps_video_parameter_set_id', 0)]
"""

from __future__ import annotations

import re
from pathlib import Path

import av
import av.logging

_ELEMENT = re.compile(r"(\w+(?:\[\d+\])*)\s+[01]+ = (-?\d+)")


def trace_headers(path: str | Path) -> list[tuple[str, int]]:
    """(syntax element, value) of every element FFmpeg's parser reads in the first video
    stream, in order (array elements keep their index, ``name[i]``)."""
    old = av.logging.get_level()
    av.logging.set_level(av.logging.INFO)
    try:
        with av.logging.Capture() as logs, av.open(str(path)) as c:
            st = c.streams.video[0]
            bsf = av.BitStreamFilterContext("trace_headers", st)
            for pkt in c.demux(st):
                if pkt.size:
                    bsf.filter(pkt)
    finally:
        av.logging.set_level(old)
    return [(m[1], int(m[2])) for _, _, text in logs for m in [_ELEMENT.search(text)] if m]
