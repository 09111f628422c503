"""The wheel built from this repository, installed into a fresh venv beside PyPI's ``fixtures`` package.

Its only import root is ``transformer_spec``, so both packages import; an adapter package registered by entry
point is found; and ``transformer-spec run`` from that install, in an unrelated folder, runs the suite with its
time limit active (a hanging adapter is stopped and reported as a time-out).

The wheel, ``fixtures`` and the adapter package are installed for real.  Their dependencies (torch, numpy,
pytest...) are borrowed from the running environment through a ``.pth`` file, which keeps this check to
seconds; the ``slow`` tier installs them too, from the constraints file, as a user's ``pip install`` would.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = Path(__file__).resolve().parent / "demo_adapter"
FIXTURES = "fixtures==4.3.2"  # the PyPI package whose name the wheel used to overwrite


def _site_packages(python: Path) -> Path:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return Path(subprocess.check_output([str(python), "-c", code], text=True).strip())


def _pip(python: Path, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                           "--disable-pip-version-check", *args], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module", params=["borrowed-deps", pytest.param("installed-deps", marks=pytest.mark.slow)])
def venv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel, PyPI's fixtures and the demo adapter package; returns its bin folder."""
    base = tmp_path_factory.mktemp(request.param)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                            "-w", str(base / "wheel"), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (base / "wheel").glob("transformer_spec-*.whl")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(base / "venv")], check=True, timeout=300)
    python = base / "venv" / "bin" / "python"
    if request.param == "borrowed-deps":
        (_site_packages(python) / "_borrowed_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        _pip(python, "--no-deps", str(wheel), FIXTURES)
    else:
        _pip(python, "-c", str(ROOT / "constraints-cpu.txt"), str(wheel), FIXTURES)
    shutil.copytree(DEMO, base / "demo_adapter")  # building writes into the source folder: build a copy
    _pip(python, "--no-deps", "--no-build-isolation", str(base / "demo_adapter"))
    return python.parent


def test_only_one_import_root_is_installed_and_pypi_fixtures_still_imports(venv: Path) -> None:
    probe = ("import fixtures, transformer_spec.fixtures.generate as g, transformer_spec.reference.attention as a; "
             "print(fixtures.Fixture.__module__, g.GOLDEN.is_dir(), a.__name__)")
    done = subprocess.run([str(venv / "python"), "-c", probe], capture_output=True, text=True, cwd=venv.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["fixtures.fixture", "True", "transformer_spec.reference.attention"], done.stdout
    claimed = {p.name for p in _site_packages(venv / "python").iterdir()} & {"reference", "implementations", "spec_tests"}
    assert not claimed, f"the wheel installed generic top-level packages {sorted(claimed)}"


def test_run_from_the_install_finds_the_entry_point_and_stops_a_hang(venv: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "unrelated"
    elsewhere.mkdir()
    listed = subprocess.run([str(venv / "transformer-spec"), "implementations"], capture_output=True, text=True,
                            cwd=elsewhere)
    assert "demo-attention" in listed.stdout and "demo-hang" in listed.stdout, listed.stdout + listed.stderr
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([str(venv / "transformer-spec"), "run", "--impl", "demo-attention", "--impl", "demo-hang",
                           "-k", "test_attention_matches_reference", "-n", "1", "--report-dir", "out"],
                          capture_output=True, text=True, cwd=elsewhere, env=env, timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads((elsewhere / "out" / "report.json").read_text(encoding="utf-8"))
    status = {(e["implementation"], e["id"]): e for e in report["clauses"]}
    assert status["demo-attention", "3.2.1/scaled-dot-product"]["status"] == "conforms"
    hang = status["demo-hang", "3.2.1/scaled-dot-product"]
    assert hang["status"] == "error" and "timed out after 3 s" in json.dumps(hang), json.dumps(hang)[:2000]
