"""Named seeds derived from a run's ``--seed``, with no dependency (any tier may use them).

:func:`derive` gives each random component (a simulated file, a network's initial weights, a
data order) its own seed, a function of the run's seed and the component's name only.
:mod:`caloml.training.seeds` adds the seeding of the frameworks on top.
"""

from __future__ import annotations

import hashlib


def derive(seed: int, component: str) -> int:
    """A seed in [0, 2³¹) for ``component`` that depends only on ``seed`` and the name.

    SHA-256 rather than ``hash``, which Python salts per process.
    """
    digest = hashlib.sha256(f"{int(seed)}/{component}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF
