"""report.html in a real headless Chromium: it renders, the matrix is in the DOM, nothing logs a console error.

Chromium is installed with apt-get when missing and we are root; otherwise the test is skipped, saying why.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0", "--window-size=1400,1000"]


@pytest.fixture(scope="module")
def chromium() -> str:
    """The browser, installed on first use where possible."""
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            pytest.skip("chromium is not installed and cannot be installed here (needs root and apt-get)")
        proc = subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            pytest.skip(f"apt-get install chromium failed: {proc.stderr.strip().splitlines()[-1:]}")
    return str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium"))


def _browse(chromium: str, page: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([chromium, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *extra, page.as_uri()],
                          capture_output=True, text=True, timeout=120)


def test_report_renders_in_chromium(chromium: str, serial_run: dict, tmp_path: Path) -> None:
    page = serial_run["dir"] / "report.html"
    dom = _browse(chromium, page, tmp_path, "--dump-dom")
    assert '<table id="matrix">' in dom.stdout and "3.2.1/scaling" in dom.stdout
    assert "Uncaught" not in dom.stderr and "ERROR:CONSOLE" not in dom.stderr, dom.stderr[-2000:]
    shot = tmp_path / "report.png"
    _browse(chromium, page, tmp_path, f"--screenshot={shot}")
    assert shot.is_file() and shot.stat().st_size > 10_000
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (1000, 1400)
    assert float(np.std(pixels)) > 0.02, "the screenshot is blank"
    shutil.copy(shot, serial_run["dir"] / "screenshot.png")
