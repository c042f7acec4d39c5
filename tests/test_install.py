"""A built wheel carries the code and the shipped files, and works installed from an empty folder.

The wheel is built from a copy of the checkout (no build/ left in it) without build isolation
(offline), installed with no dependencies into a fresh venv outside the checkout; a .pth file
lends that venv this environment's site-packages for the dependencies only (a .pth line is not
a site dir, so the editable install's finder there is not run). Every command runs in an empty
folder with PYTHONPATH unset, so the only `sim` and the only shipped files it can find are the
wheel's. .ci/run also installs the wheel with pip resolving its dependencies, as a user would.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from sim.files.shipped import INSTALLED_DIR, SHIPPED_FOLDERS
from tests.conftest import ROOT

TIMEOUT = 300
BUILD_INPUTS = ("pyproject.toml", "README.md", "sim", *SHIPPED_FOLDERS)


def _checked(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a command; a failure shows its output (the reason the install or run broke)."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, check=False,
                          **kwargs)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def build_wheel(work: Path) -> Path:
    """The wheel of a fresh copy of the checkout's build inputs."""
    src = work / "src"
    src.mkdir()
    for name in BUILD_INPUTS:
        item = ROOT / name
        if item.is_dir():
            shutil.copytree(item, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(item, src / name)
    _checked([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index",
              "--no-build-isolation", "--wheel-dir", str(work / "dist"), str(src)])
    (wheel,) = (work / "dist").glob("ccsim-*.whl")
    return wheel


def clean_env() -> dict[str, str]:
    """This environment without anything that would put the checkout on the path."""
    drop = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV"}
    return {k: v for k, v in os.environ.items() if k not in drop}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv outside the checkout with the wheel installed; its bin/ folder."""
    env_dir = tmp_path_factory.mktemp("venv")
    assert not env_dir.resolve().is_relative_to(ROOT)
    venv.create(env_dir, with_pip=False)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = _checked([str(python), "-c", where], env=clean_env()).stdout.strip()
    lent = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]
    (Path(purelib) / "_ccsim_test_deps.pth").write_text("\n".join(lent) + "\n")
    _checked([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
              "--no-deps", "--no-index", str(wheel)])
    return bindir


def in_empty_folder(tmp_path: Path, bindir: Path, *argv: str) -> subprocess.CompletedProcess:
    """A command of the installed venv, run in an empty folder with a clean environment."""
    tmp_path.mkdir(exist_ok=True)
    assert not any(tmp_path.iterdir())
    return _checked([str(bindir / argv[0]), *argv[1:]], cwd=tmp_path, env=clean_env())


def test_wheel_holds_every_module_and_shipped_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "sim").rglob("*.py")
               if "__pycache__" not in p.parts}
    shipped = {f"sim/{INSTALLED_DIR}/{p.relative_to(ROOT).as_posix()}"
               for folder in SHIPPED_FOLDERS for p in (ROOT / folder).rglob("*")
               if p.is_file() and not any(part.startswith(".") for part in p.parts)}
    assert "sim/_shipped/scenarios/baseline.yaml" in shipped
    assert "sim/_shipped/calibration/fitted.yaml" in shipped
    assert modules - names == set(), "modules missing from the wheel (pyproject `packages`)"
    assert shipped - names == set(), "shipped files missing from the wheel (`package-data`)"
    assert not [n for n in names if n.endswith(".ccsim-result")]  # ccsim's own write markers


def test_installed_copy_uses_its_own_files(installed, tmp_path):
    probe = ("import json, sys, sim, sim.files.shipped as s,"
             " sim.studies.calibration.fit as c, sim.cli as cli;"
             "print(json.dumps({'sim': sim.__file__, 'root': str(s.shipped_root()),"
             " 'source': str(s.source_root()), 'baseline': str(cli.baseline_path()),"
             " 'cal_out': str(c.DEFAULT_OUT), 'path': sys.path}))")
    got = json.loads(in_empty_folder(tmp_path, installed, "python", "-c", probe).stdout)
    env_dir = installed.parent.resolve()
    for key in ("sim", "root", "baseline"):
        assert Path(got[key]).resolve().is_relative_to(env_dir), (key, got[key])
        assert not Path(got[key]).resolve().is_relative_to(ROOT), (key, got[key])
    assert str(ROOT) not in got["path"] and "" not in got["path"][1:]
    assert got["source"] == "None"
    assert got["cal_out"] == "calibration"  # ./calibration, never inside site-packages


@pytest.mark.slow  # the wheel's kernel compiles cold in its own venv (about 40 s on 2 cores)
def test_installed_run_validate_and_brief_from_an_empty_folder(installed, tmp_path):
    in_empty_folder(tmp_path, installed, "ccsim", "run", "--reps", "5", "--quiet")
    (run_dir,) = (tmp_path / "results").iterdir()
    assert run_dir.name.startswith("baseline-")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["scenario_name"] == "baseline" and (run_dir / "summary.csv").is_file()
    assert (run_dir / "workbook.xlsx").is_file()  # openpyxl: a core dependency

    shipped = Path(json.loads(in_empty_folder(
        tmp_path / "where", installed, "python", "-c",
        "import json, sim.files.shipped as s; print(json.dumps(str(s.shipped_root())))").stdout))
    for name in ("package_rec7_plus.yaml", "iopc_flat_cash.yaml"):  # extends chains of 3
        out = in_empty_folder(tmp_path / name, installed, "ccsim", "validate",
                              str(shipped / "scenarios" / name)).stdout
        assert ": valid (scenario" in out

    folder = tmp_path / "brief"
    in_empty_folder(folder, installed, "ccsim", "brief", "--reps", "5", "--no-target", "--quiet")
    (brief_dir,) = (folder / "results").iterdir()
    assert (brief_dir / "brief.html").is_file() and (brief_dir / "brief.md").is_file()


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow  # the posterior's smallest run (40 walkers, twice the parameters): ~1 min
def test_installed_calibrate_writes_the_working_folder_not_site_packages(installed, tmp_path):
    shipped = Path(json.loads(in_empty_folder(
        tmp_path / "where", installed, "python", "-c",
        "import json, sim.files.shipped as s; print(json.dumps(str(s.shipped_path('calibration'))))"
    ).stdout))
    before = _digests(shipped)
    folder = tmp_path / "cal"
    proc = in_empty_folder(folder, installed, "ccsim", "calibrate", "--reps", "2",
                           "--report-reps", "2", "--walkers", "40", "--steps", "11",
                           "--burn-in", "1", "--quiet")
    assert "written to calibration:" in proc.stdout
    assert (folder / "calibration" / "fitted.yaml").is_file()
    assert _digests(shipped) == before
