"""Provenance: where a result came from, the same block in every command's manifest.

ccsim's version and git commit (when run from a checkout), the command line, Python and the
versions of the packages that make the numbers, the platform; and per run the scenario
(name and hash), engine, replications, seed and where its parameters came from. With
these, anyone holding the same inputs can rerun a result and get the same numbers.
"""

from __future__ import annotations

import contextlib
import contextvars
import platform
import shlex
import subprocess
import sys
from collections.abc import Iterator, Sequence
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from sim.files.shipped import source_root
from sim.version import __version__

if TYPE_CHECKING:  # a type only: the command line records its argv before any engine loads
    from sim.engine.run import RunResult

#: the packages whose versions can change a result or how it is written
PACKAGES = ("numpy", "scipy", "pandas", "pyarrow", "pydantic", "simpy", "matplotlib", "openpyxl")
NO_COMMIT = "unknown (not a git checkout)"

_COMMAND: contextvars.ContextVar[str | None] = contextvars.ContextVar("command", default=None)


@contextlib.contextmanager
def recording_command(argv: Sequence[str]) -> Iterator[None]:
    """Within this block every manifest records `ccsim ARGV` as its command line (the
    command line sets it; a script calling the API records its own `sys.argv`)."""
    token = _COMMAND.set(shlex.join(["ccsim", *argv]))
    try:
        yield
    finally:
        _COMMAND.reset(token)


def command_line() -> str:
    return _COMMAND.get() or shlex.join(sys.argv)


@cache
def git_commit() -> str:
    """The checkout's commit, or NO_COMMIT for an installed copy or where git is absent."""
    root = source_root()
    if root is None:
        return NO_COMMIT
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"],
                             capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return NO_COMMIT
    return out.stdout.strip() or NO_COMMIT


@cache
def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def provenance(runs: Sequence[RunResult] = (), **inputs: Any) -> dict[str, Any]:
    """The provenance block: software, command line, platform, any other `inputs` of the
    command (a brief file and its hash, a calibration's settings), and each run's identity."""
    return {
        "ccsim_version": __version__,
        "git_commit": git_commit(),
        "command": command_line(),
        "python": platform.python_version(),
        "packages": package_versions(),
        "platform": platform.platform(),
        **inputs,
        "runs": [run.identity() for run in runs],
    }


__all__ = ["git_commit", "package_versions", "provenance", "recording_command"]
