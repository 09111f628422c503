"""A shipped library adapter whose library is missing is a usage error that says which extra to install."""
from __future__ import annotations

import subprocess
import sys

import pytest

from transformer_spec.harness.loading import LIBRARIES, Library


@pytest.mark.parametrize("library", LIBRARIES, ids=[lib.name for lib in LIBRARIES])
def test_a_missing_library_names_its_extra(library: Library) -> None:
    code = (f"import sys; sys.modules[{library.module!r}] = None\n"  # the library, as if not installed
            "from transformer_spec.cli import main\n"
            f"sys.exit(main(['run', '--impl', {library.name!r}, '--explain']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert f"pip install 'transformer-spec[{library.extra}]'" in done.stderr, done.stderr
