"""Random streams of a simulation study, one per replicate, independent of how it is run.

Replicate ``r`` of scenario ``s`` in a study with root seed ``S`` draws from

.. math:: \\mathrm{SeedSequence}(S,\\ \\mathrm{spawn\\_key} = (h(s), 0, r))

where :math:`h(s)` is the first 128 bits of the SHA-256 digest of the scenario's name.
Nothing about the run enters the key (worker count, chunking, order, resumption), so a
replicate's cohort is always the same, and ``hcc-prognosis replay`` can rebuild it alone.
The large-sample reference cohort of a scenario uses the key :math:`(h(s), 1, 0)`, a
stream disjoint from every replicate's; block ``b`` of replicate ``r`` of a sample-size
plan (``hcc-prognosis plan``) uses :math:`(h(s), 2, r, b)`. SeedSequence hashes its whole
key, so nearby seeds and replicate numbers give unrelated streams (O'Neill 2015; numpy's
"Parallel random number generation" guide).

References
----------
.. [1] O'Neill ME. PCG: A family of simple fast space-efficient statistically good
   algorithms for random number generation. Harvey Mudd College HMC-CS-2014-0905, 2014.
.. [2] NumPy documentation, "Parallel Random Number Generation" (SeedSequence spawning).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np

from calculator.errors import InputError

#: Second element of the spawn key: which kind of stream.
REPLICATE_STREAM = 0
REFERENCE_STREAM = 1
#: The growing cohorts of a sample-size plan (:mod:`simulation.study.plan`).
PLAN_STREAM = 2

#: Largest root seed accepted (SeedSequence takes any non-negative integer; this bound
#: keeps seeds printable and storable as SQLite integers).
MAX_SEED = 2**63 - 1


def check_seed(seed: object) -> int:
    """The root seed as an int, or an :class:`InputError` naming ``seed``.

    >>> check_seed(1)
    1
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
            or not 0 <= int(seed) <= MAX_SEED:
        raise InputError("seed", seed, None, f"a whole number from 0 to {MAX_SEED}",
                         f"seed must be a whole number from 0 to {MAX_SEED}; got {seed!r}",
                         "e.g. --seed 1")
    return int(seed)


def check_replicate(replicate: object) -> int:
    """A replicate number (>= 0) as an int, or an :class:`InputError` naming it."""
    if isinstance(replicate, bool) or not isinstance(replicate, (int, np.integer)) \
            or int(replicate) < 0:
        raise InputError("replicate", replicate, None, "a whole number >= 0",
                         f"replicate must be a whole number >= 0; got {replicate!r}",
                         "replicates are numbered 0, 1, ..., R - 1")
    return int(replicate)


@lru_cache(maxsize=256)
def scenario_key(scenario_name: str) -> int:
    """128-bit integer key of a scenario name (first 16 bytes of its SHA-256, big-endian).

    >>> scenario_key("tog2025") == scenario_key("tog2025")
    True
    """
    return int.from_bytes(hashlib.sha256(scenario_name.encode("utf-8")).digest()[:16], "big")


def replicate_seed_sequence(seed: int, scenario_name: str,
                            replicate: int) -> np.random.SeedSequence:
    """The SeedSequence of replicate ``replicate`` of ``scenario_name`` under root ``seed``."""
    return np.random.SeedSequence(
        check_seed(seed),
        spawn_key=(scenario_key(scenario_name), REPLICATE_STREAM, check_replicate(replicate)))


def replicate_rng(seed: int, scenario_name: str, replicate: int) -> np.random.Generator:
    """The generator (PCG64) that draws replicate ``replicate``'s cohort.

    >>> a = replicate_rng(1, "tog2025", 7).random()
    >>> b = replicate_rng(1, "tog2025", 7).random()
    >>> a == b, a == replicate_rng(1, "tog2025", 8).random()
    (True, False)
    """
    return np.random.Generator(np.random.PCG64(replicate_seed_sequence(seed, scenario_name,
                                                                       replicate)))


def reference_rng(seed: int, scenario_name: str) -> np.random.Generator:
    """The generator of a scenario's large-sample reference cohort (disjoint stream)."""
    sequence = np.random.SeedSequence(
        check_seed(seed), spawn_key=(scenario_key(scenario_name), REFERENCE_STREAM, 0))
    return np.random.Generator(np.random.PCG64(sequence))


def plan_rng(seed: int, scenario_name: str, replicate: int, block: int) -> np.random.Generator:
    """The generator of block ``block`` of replicate ``replicate``'s patients in a
    sample-size plan (a stream disjoint from the study's replicates and reference).

    >>> plan_rng(1, "tog2025", 0, 1).random() == plan_rng(1, "tog2025", 0, 1).random()
    True
    """
    sequence = np.random.SeedSequence(
        check_seed(seed), spawn_key=(scenario_key(scenario_name), PLAN_STREAM,
                                     check_replicate(replicate), check_replicate(block)))
    return np.random.Generator(np.random.PCG64(sequence))
