"""Length-prefixed MessagePack frames: a 4-byte big-endian length, then one value.

dkrun's strings are byte strings; they travel as MessagePack str and may hold any
bytes, so they decode with ``surrogateescape`` and encode back to the same bytes.

A frame is at most MAX_FRAME bytes, dkrun's limit too (docs/limits.md): a bigger message
is refused before it is written, and a header announcing one ends the reading.
"""
import struct

import msgpack

MAX_FRAME = 256 << 20

# Bytes asked of the stream at a time: a header's length is not trusted to size a buffer.
_CHUNK = 1 << 20


class FrameError(Exception):
    """The other side broke the framing or went away mid-frame."""


class FrameTooLarge(ValueError):
    """A message above MAX_FRAME: nothing was written, and the stream is still good."""


def pack(value):
    return msgpack.packb(value, use_bin_type=True, unicode_errors="surrogateescape")


def unpack(body):
    return msgpack.unpackb(body, raw=False, unicode_errors="surrogateescape", strict_map_key=False)


def frame(value):
    """The bytes of one frame holding `value`."""
    body = pack(value)
    if len(body) > MAX_FRAME:
        raise FrameTooLarge(f"a message of {len(body)} bytes: more than {MAX_FRAME >> 20} MiB, the limit for a frame")
    return struct.pack(">I", len(body)) + body


def write_frame(stream, value):
    stream.write(frame(value))
    stream.flush()


def _read_exactly(stream, n):
    chunks = []
    while n > 0:
        chunk = stream.read(min(n, _CHUNK))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(stream):
    """The next value, or None when the stream ends between frames."""
    header = _read_exactly(stream, 4)
    if header is None:
        return None
    (length,) = struct.unpack(">I", header)
    if length > MAX_FRAME:
        raise FrameError(f"a frame announcing {length} bytes: more than {MAX_FRAME >> 20} MiB, the limit for a frame")
    body = _read_exactly(stream, length)
    if body is None:
        raise FrameError("the stream ended inside a frame")
    return unpack(body)
