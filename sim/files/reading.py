"""Read an input file safely: a regular file, of bounded size, as text or bytes.

Every file ccsim reads (scenarios, sweeps, briefs, target CSVs, parameter files) passes
through here, so `/dev/zero`, a FIFO, a folder or a 30 MB file is refused at once with a
message naming the file, never a hang or a `MemoryError`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sim.errors import InputError

MAX_INPUT_BYTES = 2 * 2**20  # 2 MiB: the largest shipped input is under 20 KiB


def read_bytes(path: str | Path, *, what: str = "an input file",
               max_bytes: int = MAX_INPUT_BYTES) -> bytes:
    """The file's bytes, if it is a regular file of at most `max_bytes`."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", file=path) from None
    except ValueError as exc:  # a NUL byte in the name: no file can have it
        raise InputError(f"cannot read the file ({exc})", file=path) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"is a directory; expected {what}", file=path,
                         allowed=f"{what}, as a regular file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"is not a regular file (a device, pipe or socket); expected {what}",
                         file=path, allowed=f"{what}, as a regular file")
    if info.st_size > max_bytes:
        raise InputError(
            f"the file is too large ({info.st_size / 2**20:.1f} MiB) for {what}",
            file=path, allowed=f"at most {max_bytes / 2**20:g} MiB")
    try:
        # O_NONBLOCK: a file swapped for a FIFO after the check still cannot block the read
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", file=path) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputError(f"is not a regular file; expected {what}", file=path,
                             allowed=f"{what}, as a regular file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", file=path) from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise InputError(f"the file is too large for {what}", file=path,
                         allowed=f"at most {max_bytes / 2**20:g} MiB")
    return data


def read_text(path: str | Path, *, what: str = "an input file",
              max_bytes: int = MAX_INPUT_BYTES, encoding: str = "utf-8") -> str:
    """The file's text in `encoding` (a UTF-8 byte-order mark is dropped)."""
    data = read_bytes(path, what=what, max_bytes=max_bytes)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read the file ({exc})", file=path,
                         allowed=f"text in {encoding}") from None
    return text.removeprefix("\ufeff")
