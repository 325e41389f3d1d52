"""When Python's cyclic garbage collector does its full collections: between key presses.

After start-up the desk freezes what start-up built (imports, widgets, caches): a full
collection over those ~200k objects took 80–135 ms. Objects made later still pile up (render
caches, briefings, rows) and, once frozen objects no longer count as old, CPython ran a full
collection over them every few seconds: 12–45 ms, landing in the middle of key presses on a
1M-certificate database. Full collections now wait until nobody has pressed a key for a moment
(staff talk on the phone between keys); young collections run as usual.
"""

from __future__ import annotations

import gc

MANUAL = 1 << 30
"""A full-collection threshold never reached: full collections are started here."""
DUE = 10
"""Young (generation 1) collections between full ones: CPython's own default."""
OVERDUE = 100
"""Past this many, collect even while keys are being pressed (memory comes first)."""
IDLE = 1.0
"""Seconds without input after which a due full collection runs."""


def calm_collector() -> None:
    """Once the desk is up: collect, freeze what start-up built, take over full collections."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, MANUAL)


def collect_when_idle(idle_for: float) -> bool:
    """Run a due full collection if input has been quiet for `IDLE` seconds (or it is overdue)."""
    young, middle, full = gc.get_threshold()
    if full != MANUAL:
        return False  # not taken over (the desk is not up yet): CPython decides
    due = gc.get_count()[2]
    if due >= OVERDUE or (due >= DUE and idle_for >= IDLE):
        gc.collect()
        return True
    return False


def hand_back_collector() -> None:
    """The desk is closing: CPython decides on full collections again."""
    young, middle, full = gc.get_threshold()
    if full == MANUAL:
        gc.set_threshold(young, middle, DUE)
