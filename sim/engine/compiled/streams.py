"""Random numbers for the compiled engine: Philox4x32-10 streams and the samplers that use them.

A stream is addressed by (seed, replication, purpose): the seed is Philox's 64-bit key and
(replication, purpose) the top half of its 128-bit counter, so every stream owns 2**64
blocks of its own and no two streams can overlap, whatever the chunking or thread count.
A replication's streams are three small arrays (`Rng`), cheap to pass into helper
functions, unlike a NumPy Generator. `tests/test_streams.py` checks the block function
against Random123's published known-answer vectors and each sampler against its moments.

The samplers follow NumPy's algorithms: Marsaglia and Tsang's gamma, Hörmann's PTRS
Poisson for large means (multiplication below 10), Box-Muller normals, inversion for the
exponential and for empirical durations.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.engine.randomness import PURPOSES

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint32(0x9E3779B9)
_W1 = np.uint32(0xBB67AE85)
_LOW = np.uint64(0xFFFFFFFF)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
_TO_UNIT32 = 1.0 / 4294967296.0  # 2**-32
_PTRS_FROM = 10.0  # NumPy's switch from multiplication to PTRS

#: distribution families as the tables write them (sim.engine.compiled.tables)
FIXED, EXPONENTIAL, LOGNORMAL, GAMMA, EMPIRICAL = 0, 1, 2, 3, 4
PURPOSE = {name: i for i, name in enumerate(PURPOSES)}
#: numba compiles this module's globals into its cached machine code and keys that cache on
#: this file alone, so the number of purposes is written here too: a purpose added in
#: `sim.engine.randomness` must change this line, or a stale cache would index past the end
#: of a replication's stream state
_PURPOSES = 17
if len(PURPOSES) != _PURPOSES:
    raise ImportError(f"sim.engine.randomness has {len(PURPOSES)} purposes but"
                      f" sim/engine/compiled/streams.py says {_PURPOSES}: change both")


@njit(inline="always", cache=True)
def philox(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 (Salmon et al. 2011): four 32-bit words from a counter and a key."""
    for _ in range(10):
        p0 = np.uint64(c0) * _M0
        p1 = np.uint64(c2) * _M1
        c0, c1, c2, c3 = (np.uint32(p1 >> np.uint64(32)) ^ c1 ^ k0, np.uint32(p1 & _LOW),
                          np.uint32(p0 >> np.uint64(32)) ^ c3 ^ k1, np.uint32(p0 & _LOW))
        k0 = np.uint32(k0 + _W0)
        k1 = np.uint32(k1 + _W1)
    return c0, c1, c2, c3


def key_words(seed: int) -> tuple[np.uint32, np.uint32]:
    """A run's seed as Philox's two 32-bit key words (low, high): every stream's key."""
    return np.uint32(seed & 0xFFFFFFFF), np.uint32((seed >> 32) & 0xFFFFFFFF)


@njit(cache=True)
def make_rng(k0, k1, replication):
    """A replication's streams: (identity: key low, key high, replication; next block of
    each purpose; a spare uniform of each purpose, then a spare normal of each, NaN where
    there is none). The seed comes split by `key_words`."""
    ident = np.empty(3, np.uint32)
    ident[0], ident[1], ident[2] = k0, k1, replication
    return ident, np.zeros(_PURPOSES, np.uint64), np.full(2 * _PURPOSES, np.nan)


@njit(inline="always", cache=True)
def _unit(lo, hi):
    return ((np.uint64(lo) | (np.uint64(hi) << np.uint64(32))) >> np.uint64(11)) * _TO_UNIT


@njit(inline="always", cache=True)
def uniform(rng, purpose):
    """The next uniform on [0, 1) of one purpose's stream (53 bits, two per Philox block)."""
    ident, blocks, spare = rng
    if spare[purpose] == spare[purpose]:  # not NaN: the second half of the last block
        u = spare[purpose]
        spare[purpose] = np.nan
        return u
    n = blocks[purpose]
    blocks[purpose] = n + np.uint64(1)
    a, b, c, d = philox(np.uint32(n & _LOW), np.uint32(n >> np.uint64(32)), ident[2],
                        np.uint32(purpose), ident[0], ident[1])
    spare[purpose] = _unit(c, d)
    return _unit(a, b)


@njit(inline="always", cache=True)
def four(rng, purpose):
    """Four uniforms on (0, 1) from one Philox block, 32 bits each: for a case's yes/no
    decisions, which compare with shares (a resolution of 2**-32 is far below any share's
    precision) and cost a quarter of a block each rather than half."""
    ident, blocks, _ = rng
    n = blocks[purpose]
    blocks[purpose] = n + np.uint64(1)
    a, b, c, d = philox(np.uint32(n & _LOW), np.uint32(n >> np.uint64(32)), ident[2],
                        np.uint32(purpose), ident[0], ident[1])
    return ((a + 0.5) * _TO_UNIT32, (b + 0.5) * _TO_UNIT32, (c + 0.5) * _TO_UNIT32,
            (d + 0.5) * _TO_UNIT32)


@njit(inline="always", cache=True)
def normal(rng, purpose):
    """A standard normal: Box-Muller makes two independent ones from two uniforms, and the
    second waits for the purpose's next call (1 - u keeps the logarithm finite)."""
    spare = rng[2]
    k = _PURPOSES + purpose
    if spare[k] == spare[k]:  # not NaN
        z = spare[k]
        spare[k] = np.nan
        return z
    r = math.sqrt(-2.0 * math.log(1.0 - uniform(rng, purpose)))
    theta = 2.0 * math.pi * uniform(rng, purpose)
    spare[k] = r * math.sin(theta)
    return r * math.cos(theta)


@njit(inline="always", cache=True)
def exponential(rng, purpose):
    """A standard exponential, by inversion."""
    return -math.log1p(-uniform(rng, purpose))


@njit(cache=True)
def standard_gamma(rng, purpose, shape):
    """Marsaglia and Tsang (2000) for shape >= 1; Johnk-style boost below (as NumPy)."""
    if shape == 1.0:
        return exponential(rng, purpose)
    if shape < 1.0:
        while True:
            u = uniform(rng, purpose)
            v = exponential(rng, purpose)
            if u <= 1.0 - shape:
                x = u ** (1.0 / shape)
                if x <= v:
                    return x
            else:
                y = -math.log((1.0 - u) / shape)
                x = (1.0 - shape + shape * y) ** (1.0 / shape)
                if x <= v + y:
                    return x
    b = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * b)
    while True:
        x = normal(rng, purpose)
        v = 1.0 + c * x
        while v <= 0.0:
            x = normal(rng, purpose)
            v = 1.0 + c * x
        v = v * v * v
        u = uniform(rng, purpose)
        if u < 1.0 - 0.0331 * (x * x) * (x * x):
            return b * v
        if math.log(u) < 0.5 * x * x + b * (1.0 - v + math.log(v)):
            return b * v


@njit(cache=True)
def poisson(rng, purpose, lam):
    """A Poisson count: multiplication below a mean of 10, Hörmann's PTRS (1993) above."""
    if lam <= 0.0:
        return 0
    if lam < _PTRS_FROM:
        limit = math.exp(-lam)
        k = 0
        prod = uniform(rng, purpose)
        while prod > limit:
            k += 1
            prod *= uniform(rng, purpose)
        return k
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u = uniform(rng, purpose) - 0.5
        v = uniform(rng, purpose)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43) if us > 0.0 else -1.0
        if us >= 0.07 and v <= vr:
            return int(k)
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        if (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)
                <= -lam + k * loglam - math.lgamma(k + 1.0)):
            return int(k)


@njit(inline="always", cache=True)
def duration(rng, purpose, table, g, k):
    """One duration of kind k under regime g, from the sampler rows `table` (family, a, b,
    first, last; see `tables`); NaN for an empirical one, which `empirical` draws.

    Inlined, and kept free of array work: a helper taking arrays costs more than a draw.
    """
    family = int(table[g, k, 0])
    a, b = table[g, k, 1], table[g, k, 2]
    if family == FIXED:
        return a
    if family == EXPONENTIAL:
        return a * exponential(rng, purpose)
    if family == LOGNORMAL:
        return math.exp(a + b * normal(rng, purpose))
    if family == GAMMA:
        return b * standard_gamma(rng, purpose, a)
    return np.nan


@njit(cache=True)
def empirical(rng, purpose, table, g, k, values, cumulative):
    """One draw of an empirical duration of kind k under regime g (inversion)."""
    first, last = int(table[g, k, 3]), int(table[g, k, 4])
    j = first + np.searchsorted(cumulative[first:last], uniform(rng, purpose), side="right")
    return values[min(j, last - 1)]


@njit(cache=True)
def sample_many(k0, k1, table, values, cumulative, n):
    """n draws of the duration in row (0, 0) of `table`, as the kernel draws them."""
    rng = make_rng(k0, k1, 0)
    out = np.empty(n)
    for i in range(n):
        x = duration(rng, 0, table, 0, 0)
        out[i] = empirical(rng, 0, table, 0, 0, values, cumulative) if np.isnan(x) else x
    return out
