"""How hard the hypothesis properties search: their usual examples, or many more.

`make test` runs each property with the examples its test names, the stateful line
sequences on a fixed seed, so CI is repeatable. `make test-deep` sets PROPERTIES_DEPTH
(default there: 10) to run every property with that many times the examples, on random
seeds, to hunt for the rare counterexample. A failure it finds becomes a test of its own.
"""

import os

#: At least 1: an empty or zero PROPERTIES_DEPTH is the usual depth.
DEPTH = max(int(os.environ.get("PROPERTIES_DEPTH") or 1), 1)


def examples(n: int) -> int:
    """The examples a property with `n` usual ones runs at this depth."""
    return n * DEPTH


#: Whether the seeds are random (a deep run) rather than fixed.
RANDOM_SEEDS = DEPTH > 1
