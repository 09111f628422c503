"""Root conftest: loads the spec suite's pytest plugins (--impl, --device, --dtype, Hypothesis profiles; --report-dir)."""

pytest_plugins = ("transformer_spec.pytest_plugin", "transformer_spec.report.plugin")
