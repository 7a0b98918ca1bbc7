"""Draw a big ended run's figures and welfare chart as it ends, into the cache beside its store (issue 18).

Drawing a run's figures and its welfare chart reads the whole event log: seconds for the tens of thousands of
events of a 2,000-agent run, which the run page's first view would otherwise wait for. So whatever ends a big
run draws them at once into ``<store>.figures.db`` (``simulator.figure_cache``), and the page's first load only
reads bytes: the API's run workers (``api.worker``) and ``agora run`` (``simulator.cli.run``). Small runs draw on
demand in a fraction of a second; a PostgreSQL store has no figure file.
"""

from __future__ import annotations

import logging
from typing import Any

from simulator import figure_cache

log = logging.getLogger(__name__)

DRAW_AHEAD_EVENTS = 10_000  # logged events from which a run's figures are drawn when it ends, not when first asked for


def draw_ahead(store: Any, run_id: str) -> bool:
    """Draw every figure and the welfare chart of ended run ``run_id`` into the cache beside ``store`` if it
    logged at least ``DRAW_AHEAD_EVENTS`` events. Whether it drew them; a failure is logged, never the run's."""
    try:
        run = store.get_run(run_id)
        if (figure_cache.for_store(store) is None or figure_cache.version_of(run) is None or not run.get("metrics")
                or (run.get("summary") or {}).get("events", 0) < DRAW_AHEAD_EVENTS):
            return False
        # imported only for a big run: a small `agora run` must not pay for matplotlib's import at start-up
        from simulator import plots
        from simulator.welfare_series import cached_welfare_series

        plots.draw_run_figures(store, run_id)
        cached_welfare_series(store, run)
        return True
    except Exception as exc:  # e.g. the worker's memory cap: the page draws them when asked
        log.warning("figures of run %s not drawn ahead: %s: %s", run_id, type(exc).__name__, exc)
        return False
