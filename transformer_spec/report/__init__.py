"""The reports of a spec run: report.json (versioned schema), report.html, junit.xml and reproduction bundles.

The pytest plugin :mod:`transformer_spec.report.plugin` gathers every test report on the controller
(all xdist workers included) and :mod:`transformer_spec.report.writer` writes the files.
"""
