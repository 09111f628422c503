"""Root conftest: loads the spec suite's pytest plugin (options --impl, --device, --dtype; Hypothesis profiles)."""

pytest_plugins = ("transformer_spec.pytest_plugin",)
