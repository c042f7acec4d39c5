"""Write results safely: files whole or not at all, result folders that only ever replace
ccsim's own results, and every file with the user's permissions.

- A file is written under a temporary name beside it, then renamed into place.
- Temporary files and folders are made with `os.open`/`os.mkdir`, so the user's umask sets
  their permissions (0644 and 0755 under umask 022; `mkstemp` would make them private).
- Every result folder carries a marker, `.ccsim-result`, naming the command that wrote it
  and every file it wrote. `check_out` lets a command write to a folder only if it is new,
  empty, or an earlier result of the same command holding nothing ccsim did not write.
- A failed write (disk full, I/O error) raises `WriteError`: one line, its own exit code.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fnmatch
import itertools
import json
import os
import re
import secrets
import time
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

from sim.errors import InputError
from sim.files.reading import read_text
from sim.version import __version__

try:
    import fcntl
except ImportError:  # not on Windows: folders are then not locked
    fcntl = None  # type: ignore[assignment]

MARKER = ".ccsim-result"
LOCK = ".ccsim-lock"
NAME_MARGIN = 32  # bytes the staging name `.NAME.partial-PID-TOKEN` adds to a folder's name
DEPTH_MARGIN = 160  # bytes the deepest file in a result adds to its folder's path
DEFAULT_NAME_CHARS = 60
LOCK_WAIT_S = 60.0

# What an earlier result of each command may hold when it was written before markers: files
# needed to recognise it, and every name it may hold ("DIR/" a folder). Sweeps add the
# points that every run of a sweep stores; calibrate writes into a folder that also holds
# its inputs (targets.csv, README.md) and so only claims the names it writes.
LAYOUTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "run": (("manifest.json", "summary.csv"),
            ("manifest.json", "summary.csv", "yearly.csv", "timeseries.parquet",
             "report.html", "workbook.xlsx", "plots/", "plots/*.png")),
    "compare": (("comparison.csv",),
                ("comparison.csv", "report.html", "manifest.json", "workbook.xlsx", "plots/",
                 "plots/*.png")),
    "brief": (("brief.json",),
              ("brief.html", "brief.md", "options.csv", "target_points.csv", "brief.json",
               "plots/", "plots/*.png")),
    "target": (("target.json",), ("target.json", "points.csv")),
    "sweep": (("points/",),
              ("results.parquet", "summary.csv", "sensitivity.csv", "manifest.json",
               "workbook.xlsx", "plots/", "plots/*.png")),
    "calibrate": (("calibration.json",),
                  ("fitted.yaml", "parameters.csv", "posterior.csv", "covariance.csv",
                   "report.csv", "predictive_check.png", "posterior.png", "calibration.json",
                   "report.html", "backtest.csv", "backtest.txt",
                   # written by the first calibration (least squares), still ours
                   "published_vs_modelled.png", "holdout.txt")),
}
ALWAYS_OURS = {"sweep": ("points/", "points/*.parquet", LOCK)}
IN_PLACE = frozenset({"calibrate"})  # writes files one by one; never deletes another's
COMMAND_NAMES = {"compare": "comparison", "calibrate": "calibration", "sweep": "sweep",
                 "brief": "brief", "target": "target", "run": "run"}
_TMP = re.compile(r"(?P<dir>(?:.*/)?)\.(?P<name>.+)\.[0-9a-f]{8}\.tmp")
_FRESH: set[Path] = set()  # default result names: made unique when written, never replaced


class WriteError(Exception):
    """Writing failed (disk full, an I/O error): the command line prints this one line and
    exits with its own code (3), so a script can tell it from bad input."""

    def __init__(self, path: str | Path, error: BaseException, kept: str = "") -> None:
        if isinstance(error, WriteError):
            error = error.error  # the first path named is the one the user gave
        self.path, self.kept = str(path), kept
        self.error: BaseException = error
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        super().__init__(f"cannot write {self.path}: {reason}" + (f"; {kept}" if kept else ""))


# -- files ---------------------------------------------------------------------------------

@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it over `target` on success."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = _unique(target.parent, f".{target.name}.", ".tmp", _create_file)
    except OSError as exc:
        raise WriteError(target, exc) from exc
    try:
        yield tmp
        os.replace(tmp, target)
    except OSError as exc:
        raise WriteError(target, exc) from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_text_atomic(target: Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_with(target: Path, writer: Callable[[Path], None]) -> None:
    """Call `writer(tmp_path)` and move the finished file into place."""
    with atomic_path(target) as tmp:
        writer(tmp)


def make_staging(out_dir: Path) -> Path:
    """A new hidden folder beside `out_dir`, named for this process (so a run that is still
    going never has its staging cleared by another), with the umask's permissions."""
    return _unique(out_dir.parent, f".{out_dir.name}.partial-{os.getpid()}-", "",
                   lambda p: os.mkdir(p, 0o777))


def _create_file(path: Path) -> None:
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))


def _unique(folder: Path, prefix: str, suffix: str, make: Callable[[Path], None]) -> Path:
    for _ in range(100):
        path = folder / f"{prefix}{secrets.token_hex(4)}{suffix}"
        try:
            make(path)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(folder))


def make_parents(folder: Path) -> list[Path]:
    """Create `folder` and its missing parents; return those this call created (deepest
    last), so a failure can remove exactly them."""
    missing = []
    for path in (folder, *folder.parents):
        if path.exists() or path.is_symlink():
            break
        missing.append(path)
    made = []
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            continue
        made.append(path)
    return made


def remove_if_empty(folders: list[Path]) -> None:
    """Remove the folders a failed command created, deepest first, if they are still empty."""
    for path in reversed(folders):
        with contextlib.suppress(OSError):
            path.rmdir()


@contextlib.contextmanager
def folder_lock(folder: Path, wait: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold an exclusive lock on `folder` itself (no file is made in it), so that swaps of
    results into one folder by several ccsim processes never interleave."""
    try:
        fd = os.open(folder, os.O_RDONLY) if fcntl is not None else None
    except OSError:  # a folder we may write but not list: go on unlocked
        fd = None
    if fd is None:
        yield
        return
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise InputError(f"another ccsim process has been writing here for over"
                                     f" {wait:.0f} s", file=folder,
                                     allowed="wait for it to finish, or another --out") from None
                time.sleep(0.05)
            except OSError:  # a file system without locks: go on unlocked
                break
        yield
    finally:
        os.close(fd)


# -- the result marker ---------------------------------------------------------------------

def write_marker(folder: Path, command: str, files: list[str] | None = None) -> None:
    """Record that ccsim's `command` wrote `folder`, and which entries are its own
    (default: everything in it now)."""
    if files is None:
        files = [rel for rel, _ in _entries(folder) if rel != MARKER]
    record = {"ccsim": __version__, "command": command, "files": sorted(set(files))}
    write_text_atomic(folder / MARKER, json.dumps(record, indent=1) + "\n")


def read_marker(folder: Path) -> dict | None:
    """The marker of a ccsim result, or None if there is none or it is not one of ours."""
    path = folder / MARKER
    if not path.exists():
        return None
    try:
        record = json.loads(read_text(path, what="a ccsim result marker", max_bytes=2**20))
    except (InputError, ValueError):
        return None
    ok = (isinstance(record, dict) and isinstance(record.get("command"), str)
          and isinstance(record.get("files"), list)
          and all(isinstance(f, str) for f in record["files"]))
    return record if ok else None


def _entries(folder: Path) -> Iterator[tuple[str, bool]]:
    """Every entry under `folder` as (relative POSIX path, is a folder), lazily, never
    following a link; folders end in '/'."""
    for top, dirs, files in os.walk(folder, followlinks=False):
        base = Path(top).relative_to(folder).as_posix()
        prefix = "" if base == "." else f"{base}/"
        for name in sorted(dirs):
            linked = os.path.islink(os.path.join(top, name))
            yield (f"{prefix}{name}" if linked else f"{prefix}{name}/"), not linked
        for name in sorted(files):
            yield f"{prefix}{name}", False


def _matches(rel: str, patterns: tuple[str, ...] | set[str]) -> bool:
    """Segment by segment, so `plots/*.png` never matches `plots/a/b.png`."""
    parts = rel.rstrip("/").split("/")
    for pattern in patterns:
        if pattern.endswith("/") != rel.endswith("/"):
            continue
        pat = pattern.rstrip("/").split("/")
        if len(pat) == len(parts) and all(fnmatch.fnmatchcase(a, b)
                                          for a, b in zip(parts, pat, strict=True)):
            return True
    return False


def _ours(rel: str, patterns: set[str]) -> bool:
    if rel == MARKER or _matches(rel, patterns) or _matches(rel, (".ccsim-probe-*/",)):
        return True
    tmp = _TMP.fullmatch(rel)  # a file a killed write left under its temporary name
    return tmp is not None and _matches(tmp["dir"] + tmp["name"], patterns)


def _listed(record: dict) -> set[str]:
    """A marker's entries, with the folders that hold them."""
    names = set()
    for rel in record["files"]:
        names.add(rel)
        parts = rel.rstrip("/").split("/")
        names.update("/".join(parts[:i]) + "/" for i in range(1, len(parts)))
    return {glob_escape(n) for n in names}


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def leftovers_of(folder: Path, command: str) -> list[Path]:
    """Files killed writes left under temporary names in a result that is written in place."""
    record = read_marker(folder)
    patterns = _patterns(command, record)
    return [folder / rel for rel, is_dir in _entries(folder)
            if not is_dir and _TMP.fullmatch(rel) and _ours(rel, patterns)]


def layout_files(folder: Path, command: str) -> list[str]:
    """The entries of an earlier result written before markers that are ccsim's."""
    layout = LAYOUTS[command][1]
    return [rel for rel, _ in _entries(folder) if _matches(rel, layout)]


def _patterns(command: str, record: dict | None) -> set[str]:
    layout = LAYOUTS[command][1]
    listed = _listed(record) if record is not None else set(layout)
    return listed | set(ALWAYS_OURS.get(command, ()))


# -- where a command may write -------------------------------------------------------------

def check_out(out: Path, command: str) -> None:
    """Refuse, before any work, an --out that ccsim must not or cannot write: the working
    folder or one above it, a link, a file, a name too long, an unwritable place, or a
    folder holding anything but an earlier result of the same command."""
    out = Path(out)
    _check_place(out)
    if out.is_dir():
        problem = _refusal(out, command)
        if problem:
            raise InputError(f"{problem}; nothing was changed", file=out, field="--out",
                             allowed=f"a new folder (e.g. --out {suggest(out)}), an empty"
                                     f" folder, or an earlier ccsim {COMMAND_NAMES[command]}"
                                     " result")


def check_writable(out_dir: Path) -> None:
    """Fail before simulating if the results cannot be written (place only, any content)."""
    _check_place(Path(out_dir))


def _check_place(out: Path) -> None:
    resolved = out.resolve()
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        what = "is the working folder" if resolved == cwd else "holds the working folder"
        raise InputError(f"{what}; results go in a folder of their own", field="--out",
                         value=str(out), allowed="a new folder, e.g. --out results/NAME")
    if out.is_symlink():
        raise InputError("is a symbolic link; ccsim writes results only to a real folder",
                         file=out, field="--out", allowed="the folder itself, or a new one")
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a directory", file=out,
                         allowed="a new or existing directory")
    existing = resolved.parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"cannot write results here ({existing} is not a directory)",
                         file=out, allowed="a directory you can write to (--out DIR)")
    _check_length(out, resolved, existing)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError("cannot write results here (permission denied)", file=out,
                         allowed="a directory you can write to (--out DIR)")
    for folder in (existing, out) if out.is_dir() else (existing,):
        _probe(out, folder)


def _probe(out: Path, folder: Path) -> None:
    """Make and remove an empty hidden folder: the one sure test that writing will work
    (permissions, ACLs, a read-only or special file system), before any work is done."""
    try:
        os.rmdir(_unique(folder, ".ccsim-probe-", "", lambda p: os.mkdir(p, 0o700)))
    except OSError as exc:
        raise InputError(f"cannot write results here ({exc.strerror or exc} in {folder})",
                         file=out, allowed="a directory you can write to (--out DIR)") from None


def _check_length(out: Path, resolved: Path, existing: Path) -> None:
    try:
        name_max = os.pathconf(existing, "PC_NAME_MAX")
        path_max = os.pathconf(existing, "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):
        name_max, path_max = 255, 4096
    for part in resolved.relative_to(existing).parts:
        limit = name_max - NAME_MARGIN if part == resolved.name else name_max
        if len(part.encode()) > limit:
            raise InputError(f"a folder name of {len(part.encode())} bytes is longer than"
                             f" this file system allows for results ({limit})",
                             field="--out", value=str(out), allowed="a shorter name")
    if len(str(resolved).encode()) + DEPTH_MARGIN > path_max:
        raise InputError("the path is longer than this file system allows", field="--out",
                         value=str(out), allowed=f"a path of under"
                                                 f" {path_max - DEPTH_MARGIN} bytes")


def _refusal(out: Path, command: str) -> str | None:
    """Why `command` may not write to the existing folder `out`, or None if it may."""
    record = read_marker(out)
    if record is not None and record["command"] != command:
        other = COMMAND_NAMES.get(record["command"], record["command"])
        return f"holds a ccsim {other} result, not a {COMMAND_NAMES[command]} result"
    entries = (e for e in _entries(out)
               if e[0] not in (MARKER, LOCK) and not e[0].startswith(".ccsim-probe-"))
    first = next(entries, None)
    if first is None:
        return None
    signature, layout = LAYOUTS[command]
    if record is None and not all(_present(out, s) for s in signature):
        shown = _show([first[0], *(rel for rel, _ in _take(entries, 2))])
        return f"holds files ccsim did not write ({shown})"
    patterns = _patterns(command, record)
    if command in IN_PLACE:  # only the names it writes matter: the rest it never touches
        clash = [n for n in layout if _present(out, n) and not _ours(n, patterns)]
        return f"holds files ccsim did not write ({_show(clash)})" if clash else None
    everything = itertools.chain([first], entries)
    foreign = _take((rel for rel, _ in everything if not _ours(rel, patterns)), 3)
    return f"holds files ccsim did not write ({_show(foreign)})" if foreign else None


def _present(out: Path, rel: str) -> bool:
    path = out / rel.rstrip("/")
    return path.is_dir() if rel.endswith("/") else path.is_file()


def _take(items, n: int) -> list:
    taken = []
    for item in items:
        taken.append(item)
        if len(taken) == n:
            break
    return taken


def _show(names: list[str]) -> str:
    return ", ".join(names[:2]) + (", ..." if len(names) > 2 else "")


def suggest(out: Path) -> Path:
    """A name beside `out` that is free now: NAME-2, NAME-3, ..."""
    for i in range(2, 1000):
        candidate = out.with_name(f"{out.name}-{i}")
        if not candidate.exists():
            return candidate
    return out.with_name(f"{out.name}-{secrets.token_hex(3)}")


# -- default names -------------------------------------------------------------------------

def safe_name(text: str, limit: int = DEFAULT_NAME_CHARS) -> str:
    """A folder name from any text (a scenario's name): ASCII letters, digits, '.', '_'
    and '-', no separators or '..', never hidden, at most `limit` characters."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", text)
    text = re.sub(r"\.{2,}", ".", text).strip("._-")
    return text[:limit].rstrip("._-")


def default_out(*words: str, root: Path = Path("results")) -> Path:
    """`results/WORDS-YYYYMMDD-HHMMSS`: the default result folder of run, compare and
    brief. Made unique when written (`-2`, `-3` ...), so runs started in the same second
    never replace each other."""
    name = "-".join(filter(None, (safe_name(w) for w in words))) or "result"
    path = root / f"{name}-{_stamp()}"
    _FRESH.add(path)
    return path


def is_fresh(path: Path) -> bool:
    return Path(path) in _FRESH


def free_name(out: Path) -> Path:
    """`out`, or the first of `out-2`, `out-3` ... that does not exist (call under the
    folder's lock)."""
    return out if not (out.exists() or out.is_symlink()) else suggest(out)


def _stamp() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")


__all__ = ["LOCK", "MARKER", "WriteError", "atomic_path", "check_out", "check_writable",
           "default_out", "folder_lock", "make_parents", "make_staging", "read_marker",
           "safe_name", "write_marker", "write_text_atomic", "write_with"]
