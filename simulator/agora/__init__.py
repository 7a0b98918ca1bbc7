"""``import agora``: Agora from a notebook or a script (the functions live in ``simulator.python_api``).

    import agora
    r = agora.run("prisoners_dilemma", seed=3)
    r.comparison                      # theory beside simulation (DataFrame)

``run``, ``load``, ``sweep``, ``solve``, ``open_run`` and the ``Run`` they return; docs/python_api.md.
The package is ``simulator/agora/`` in the repo, installed as the top-level ``agora`` by
pyproject.toml's ``[tool.setuptools.packages.find]`` (``where`` includes ``simulator``).
"""

from simulator.python_api import Run, load, open_run, run, solve, sweep

__all__ = ["Run", "load", "open_run", "run", "solve", "sweep"]
