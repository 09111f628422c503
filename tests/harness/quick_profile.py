"""A pytest plugin (``-p tests.harness.quick_profile``) with a Hypothesis profile for runs that are meant to fail.

``--hypothesis-profile quick``: few examples and no shrinking, so a broken
implementation fails in a second instead of being minimised for a minute.
"""
from hypothesis import HealthCheck, Phase, settings

settings.register_profile("quick", max_examples=5, deadline=None, database=None, derandomize=True,
                          phases=(Phase.explicit, Phase.generate),
                          suppress_health_check=(HealthCheck.function_scoped_fixture, HealthCheck.too_slow))
