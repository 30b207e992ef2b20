"""huesign.testing: hypothesis strategies and pytest fixtures for suites built on huesign.

The pytest plugin (:mod:`huesign.testing.plugin`) registers itself through the ``pytest11``
entry point; the strategies live in :mod:`huesign.testing.strategies`.
"""

__all__: list[str] = []
