"""The compiled engine: one fused pass per replication, compiled with numba.

`streams` holds the random numbers (Philox, keyed by seed, replication and purpose) and the
samplers; `tables` turns a scenario into the plain arrays the kernel reads; `kernel` draws,
routes, queues and bins every metric of one replication in one pass, and runs a chunk of
replications across threads. Nothing here imports pandas: every worker loads this layer.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

#: modules whose code or constants numba compiles into the kernel's cached machine code.
#: numba keys each cache on its own source file only, so a change in one of the others
#: (a purpose added, a bin channel moved, a sampler inlined from `streams`) would leave the
#: kernel's cache stale: wrong numbers, silently.
_COMPILED_FROM = ("compiled/kernel.py", "compiled/streams.py", "compiled/tables.py", "bins.py",
                  "cases.py", "randomness.py")
_STAMP = "ccsim-sources.sha256"
_ENGINE = Path(__file__).resolve().parent.parent


def drop_stale_caches(engine: Path = _ENGINE, cache: Path = _ENGINE / "compiled" /
                      "__pycache__") -> bool:
    """Delete the numba caches in `cache` when any of the sources they were built with (in
    `engine`, the `sim/engine` folder) has changed; a stamp file there records the sources'
    digest. True if it deleted them. A read-only install cannot be edited, so only the
    folder beside the code is kept in step."""
    digest = hashlib.sha256(b"".join((engine / name).read_bytes()
                                     for name in _COMPILED_FROM)).hexdigest()
    stamp = cache / _STAMP
    try:
        if stamp.read_text() == digest:
            return False
    except OSError:
        pass
    try:
        for path in [*cache.glob("*.nbi"), *cache.glob("*.nbc")]:
            path.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:  # a read-only install: its caches were built from its own sources
        return False
    return True


drop_stale_caches()
