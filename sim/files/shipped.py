"""Where the shipped files are: scenarios/, sweeps/, briefs/, calibration/ and data/.

They live at the top of the source checkout (the README cites `scenarios/baseline.yaml`), and
a wheel carries the same folders as package data in `sim/_shipped/` (pyproject.toml maps each
folder there), so relative references between them (`extends: baseline.yaml`, the brief's
`../scenarios/...`) hold in both layouts. A checkout wins when there is one, so an editable
install (`pip install -e .`) reads, and `ccsim calibrate` rewrites, the checkout's own files.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

#: the folders a wheel carries, at the same relative places as in the checkout
SHIPPED_FOLDERS = ("scenarios", "sweeps", "briefs", "calibration", "data")
#: the package-data folder inside an installed `sim` package
INSTALLED_DIR = "_shipped"


def _package_dir() -> Path:
    """The `sim` package's folder (a real folder: pip installs wheels unzipped)."""
    root = files("sim")
    if not isinstance(root, Path):  # a zip import: no plain files to hand to readers
        raise RuntimeError(f"ccsim must be installed as files, not imported from {root}")
    return root


def source_root() -> Path | None:
    """The source checkout `sim` was imported from, or None for an installed copy.

    A checkout is the folder above the package holding pyproject.toml and the shipped
    scenarios; site-packages holds neither."""
    root = _package_dir().resolve().parent
    if (root / "pyproject.toml").is_file() and (root / "scenarios" / "baseline.yaml").is_file():
        return root
    return None


def shipped_root() -> Path:
    """The folder holding the shipped folders: the checkout, else the installed package data."""
    return source_root() or _package_dir().resolve() / INSTALLED_DIR


def shipped_path(relative: str | os.PathLike[str]) -> Path:
    """A shipped file or folder, e.g. `shipped_path("scenarios/baseline.yaml")`."""
    relative = Path(relative)
    if relative.is_absolute() or not relative.parts or relative.parts[0] not in SHIPPED_FOLDERS:
        raise ValueError(f"not a shipped path: {relative} (must start with one of"
                         f" {', '.join(SHIPPED_FOLDERS)})")
    return shipped_root() / relative


def default_calibration_out() -> Path:
    """Where `ccsim calibrate` writes by default: the checkout's calibration/ (it is the
    shipped fit, kept under version control), else ./calibration in the working folder,
    never inside site-packages."""
    root = source_root()
    return root / "calibration" if root is not None else Path("calibration")


__all__ = ["SHIPPED_FOLDERS", "default_calibration_out", "shipped_path", "shipped_root",
           "source_root"]
