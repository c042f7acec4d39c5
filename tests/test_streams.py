"""The compiled engine's random numbers: Philox4x32-10 exactly, streams apart, samplers right.

The block function is checked against the known-answer vectors Random123 (Salmon et al.,
SC11) publishes for Philox4x32-10; the samplers' moments against the law's, within 5
standard errors of 200,000 draws (a false alarm about once in 1.7 million per check).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from numba import njit

from sim.engine import compiled
from sim.engine.compiled.streams import (
    PURPOSE,
    key_words,
    make_rng,
    philox,
    poisson,
    standard_gamma,
    uniform,
)

N, Z = 200_000, 5.0
U32 = np.uint32

KNOWN_ANSWERS = [  # (counter, key, output) from Random123's kat_vectors
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@njit
def _block(c, k):
    return philox(c[0], c[1], c[2], c[3], k[0], k[1])


@pytest.mark.parametrize(("counter", "key", "expected"), KNOWN_ANSWERS)
def test_philox_matches_random123(counter, key, expected) -> None:
    out = _block(np.array(counter, dtype=U32), np.array(key, dtype=U32))
    assert tuple(int(x) for x in out) == expected


@njit
def _uniforms(k0, k1, replication, purpose, n):
    rng = make_rng(k0, k1, replication)
    return np.array([uniform(rng, purpose) for _ in range(n)])


def test_streams_are_reproducible_and_apart() -> None:
    """Same (seed, replication, purpose): the same numbers; change any one: others."""
    a = _uniforms(U32(7), U32(0), 3, 2, 1000)
    assert np.array_equal(a, _uniforms(U32(7), U32(0), 3, 2, 1000))
    for other in (_uniforms(U32(8), U32(0), 3, 2, 1000), _uniforms(U32(7), U32(0), 4, 2, 1000),
                  _uniforms(U32(7), U32(0), 3, 5, 1000), _uniforms(U32(7), U32(1), 3, 2, 1000)):
        assert not np.any(a == other)
        assert abs(np.corrcoef(a, other)[0, 1]) < 5 / math.sqrt(1000)
    assert a.min() >= 0.0 and a.max() < 1.0


def test_the_seed_is_split_into_philox_key_words() -> None:
    k0, k1 = key_words(2**40 + 5)
    ident, blocks, spare = make_rng(k0, k1, 9)
    assert ident.tolist() == [5, 2**8, 9]
    assert blocks.size == len(PURPOSE) and spare.size == 2 * len(PURPOSE)


@njit
def _poissons(lam, n):
    rng = make_rng(U32(1), U32(2), 0)
    return np.array([float(poisson(rng, 0, lam)) for _ in range(n)])


@pytest.mark.parametrize("lam", [0.3, 4.0, 9.99, 10.0, 250.0, 1e5])
def test_poisson_mean_and_variance(lam: float) -> None:
    """Both algorithms (multiplication below 10, PTRS above): mean and variance lam."""
    x = _poissons(lam, N)
    assert abs(x.mean() - lam) <= Z * math.sqrt(lam / N)
    se_var = math.sqrt((lam + 2 * lam**2) / N)  # fourth central moment lam + 3 lam^2
    assert abs(x.var(ddof=1) - lam) <= Z * se_var
    assert np.all(x == np.floor(x)) and x.min() >= 0


@njit
def _gammas(shape, n):
    rng = make_rng(U32(3), U32(4), 0)
    return np.array([standard_gamma(rng, 0, shape) for _ in range(n)])


@pytest.mark.parametrize("shape", [0.2, 0.7, 1.0, 2.5, 40.0])
def test_gamma_mean_and_variance(shape: float) -> None:
    """Both branches (shape below 1 and Marsaglia-Tsang): mean and variance both `shape`."""
    x = _gammas(shape, N)
    assert abs(x.mean() - shape) <= Z * math.sqrt(shape / N)
    mu4 = 3 * shape**2 + 6 * shape  # fourth central moment of a standard gamma
    assert abs(x.var(ddof=1) - shape) <= Z * math.sqrt((mu4 - shape**2) / N)


def test_a_changed_source_drops_the_kernels_caches(tmp_path) -> None:
    """numba keys a cache on its own file only; the package drops every cache beside the
    code when any module the kernel is compiled with changes (a new purpose, say), and
    keeps them while nothing has."""
    engine = Path(compiled.__file__).resolve().parent.parent
    copy = tmp_path / "engine"
    for name in compiled._COMPILED_FROM:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(engine / name, copy / name)
    cache = copy / "compiled" / "__pycache__"
    cache.mkdir()
    assert compiled.drop_stale_caches(copy, cache)  # no stamp yet
    (cache / "kernel.records-1.py311.nbi").write_text("index")
    assert not compiled.drop_stale_caches(copy, cache)
    assert (cache / "kernel.records-1.py311.nbi").exists(), "nothing changed: kept"
    with (copy / "randomness.py").open("a") as f:
        f.write("\n# a change\n")
    assert compiled.drop_stale_caches(copy, cache)
    assert not (cache / "kernel.records-1.py311.nbi").exists(), "a source changed: dropped"
