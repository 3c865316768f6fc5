"""Helpers shared by the test folders (plain functions and classes; pytest fixtures live in conftest.py).

One module per subject: ``config`` (simulator credentials and plugin configs), ``paths``, ``tap``,
``target``, ``proxy``, ``secrets``, ``readme``, ``auth``, ``packaging``, ``postgres``, ``conformance`` and
``differential`` (the simulator's checks against recorded and real answers). See tests/README.md.
"""
