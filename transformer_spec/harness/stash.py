"""The keys under which the spec plugin keeps the run's state on ``config.stash`` (no module globals)."""
from __future__ import annotations

from pathlib import Path

import pytest

from transformer_spec.implementations.protocol import Implementation
from transformer_spec.harness.target import Target

TARGET_KEY = pytest.StashKey[Target]()
"""The device and dtype of the run."""
IMPLS_KEY = pytest.StashKey[dict[str, Implementation]]()
"""``--impl`` value -> the loaded implementation."""
STAGING_KEY = pytest.StashKey[Path]()
"""The run's staged report folder (set by the report plugin): failing calls' inputs and time-out notes go there."""
