"""The posterior of the fitted parameters: MCMC (emcee) on the simulated likelihood.

The targets' observation model (`calibration/targets.csv`) says each published figure is
the model's expected value plus a normal error of known variance, so the likelihood of a
parameter set is a normal density once the expected value is known; a simulation of
`reps` replications estimates it, and its Monte Carlo variance (replication variance /
reps) is added to the error variance. Every evaluation uses the same seed (common random
numbers), so the log posterior is a deterministic function of the parameters and an
ordinary MCMC samples it.

Why not ABC-SMC: pyabc's exact stochastic acceptor samples the same posterior, but its
acceptance rate at temperature 1 falls like (1 + c)^(-k/2) in k identified parameters; on
this problem (15 parameters, 40 targets) it needed 4,696 simulations for 200 particles at
temperature 12.5, with three generations still to go, so hours on two cores. An emulator
(history matching) or neural inference (sbi) would each add a surrogate to validate and a
heavy dependency; with the likelihood explicit, an affine-invariant ensemble sampler
(Goodman and Weare 2010; emcee, with differential-evolution moves for 20 dimensions) needs
no surrogate. It starts from the posterior mode (`scipy.optimize.least_squares` on the
standardised errors and the priors) and reports each parameter's autocorrelation time.

Reproducible: the mode search is deterministic and emcee's generator is seeded here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from sim.engine.summaries import describe
from sim.errors import InputError
from sim.studies.calibration.priors import PRIORS

try:  # the `calibrate` extra
    import emcee
except ImportError:  # pragma: no cover - the message is checked by hand
    emcee = None

#: 600 steps: the chains' integrated autocorrelation is about 35 steps (a 260-step chain,
#: the first default, estimated 13 to 16 and its posterior was narrower than the truth), so
#: 400 steps after burn-in are about eleven autocorrelation times
WALKERS, STEPS, BURN, DRAWS = 40, 600, 200, 400
MODE_EVALS = 120
#: a simulated figure that is not a number (no case finalised) counts as this many sd off
MISSING_SD = 30.0


@dataclass(frozen=True)
class Posterior:
    """Equal-weight posterior draws (thinned from the chains after burn-in)."""

    names: tuple[str, ...]
    draws: pd.DataFrame  # `DRAWS` draws, column `draw` then one per parameter
    mode: np.ndarray  # the posterior mode the chains started from
    chains: pd.DataFrame  # per parameter: autocorrelation time, effective sample size
    acceptance: float  # mean acceptance fraction of the walkers
    simulations: int
    seconds: float
    stuck_walkers: int = 0  # walkers that moved in no step after burn-in (left out)


def require_sampler() -> None:
    """A clear message when the optional library is missing."""
    if emcee is None:
        raise InputError("calibration needs emcee, an optional dependency", field="calibrate",
                         allowed="pip install 'ccsim[calibrate]'")


def log_prior(names: tuple[str, ...], theta: np.ndarray, lower: np.ndarray,
              upper: np.ndarray) -> float:
    """Sum of the priors' log densities; -inf outside the bounds."""
    if np.any(theta < lower) or np.any(theta > upper):
        return -np.inf
    return float(sum(PRIORS[n].frozen().logpdf(v) for n, v in zip(names, theta, strict=True)))


def prior_residuals(names: tuple[str, ...], theta: np.ndarray) -> np.ndarray:
    """Each prior as a standardised residual (log scale for a log-normal), for the mode."""
    out = []
    for n, v in zip(names, theta, strict=True):
        p = PRIORS[n]
        if p.kind == "lognormal":
            out.append(np.log(max(v, 1e-12) / p.first) / p.second)
        else:  # a beta prior by its normal approximation
            dist = p.frozen()
            out.append((v - dist.mean()) / dist.std())
    return np.array(out)


def sample(names: tuple[str, ...], errors: Callable[[np.ndarray], np.ndarray],
           lower: np.ndarray, upper: np.ndarray, seed: int, walkers: int = WALKERS,
           steps: int = STEPS, burn: int = BURN, draws: int = DRAWS,
           progress: Callable[[str], None] | None = None) -> Posterior:
    """The posterior over `names` (priors in `PRIORS`): `errors(theta)` returns each
    target's error in standard deviations, (model - published) / sd."""
    require_sampler()
    started = time.perf_counter()
    count = [0]
    cache: dict[tuple, np.ndarray] = {}

    def z(theta: np.ndarray) -> np.ndarray:
        key = tuple(np.round(theta, 12))
        if key not in cache:
            count[0] += 1
            e = np.asarray(errors(theta), float)
            if len(cache) >= 4096:  # the mode search revisits points; the chains rarely do
                cache.clear()
            cache[key] = np.where(np.isfinite(e), e, MISSING_SD)
        return cache[key]

    start = np.array([PRIORS[n].frozen().median() for n in names])
    start = np.clip(start, lower, upper)
    def residuals(x: np.ndarray) -> np.ndarray:
        return np.r_[z(x), prior_residuals(names, x)]

    mode = least_squares(residuals, start, bounds=(lower, upper), x_scale=np.abs(start),
                         diff_step=np.full(len(names), 0.02), max_nfev=MODE_EVALS,
                         method="trf").x
    if progress:
        progress(f"posterior mode after {count[0]} simulations; sampling")

    def log_prob(theta: np.ndarray) -> float:
        lp = log_prior(names, theta, lower, upper)
        if not np.isfinite(lp):
            return -np.inf
        return lp - 0.5 * float(np.sum(z(theta) ** 2))

    rng = np.random.RandomState(seed)
    ball = mode * (1 + 0.01 * rng.standard_normal((walkers, len(names))))
    ball = np.clip(ball, lower + 1e-9 * np.abs(lower), upper - 1e-9 * np.abs(upper))
    sampler = emcee.EnsembleSampler(walkers, len(names), log_prob, moves=[
        (emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)])
    sampler.random_state = rng.get_state()
    sampler.run_mcmc(ball, steps, progress=False)
    chain = sampler.get_chain(discard=burn)  # steps x walkers x parameters
    moved = moving_walkers(chain)
    chain = chain[:, moved, :]
    flat = chain.reshape(-1, len(names))
    tau = emcee.autocorr.integrated_time(chain, quiet=True)
    pick = np.linspace(0, len(flat) - 1, draws).round().astype(int)
    frame = pd.DataFrame(flat[pick], columns=list(names))
    frame.insert(0, "draw", np.arange(draws))
    chains = pd.DataFrame({"parameter": names, "autocorrelation_steps": tau,
                           "effective_draws": len(flat) / tau})
    if progress:
        progress(f"posterior: {count[0]} simulations in {time.perf_counter() - started:.0f} s")
    return Posterior(names, frame, mode, chains, float(np.mean(sampler.acceptance_fraction)),
                     count[0], time.perf_counter() - started, int((~moved).sum()))


def moving_walkers(chain: np.ndarray) -> np.ndarray:
    """Which walkers of a (steps, walkers, parameters) chain moved at least once. A walker
    that never moves after burn-in sits on a spike of the Monte Carlo likelihood (each
    evaluation is a few replications): it is not sampling the posterior, so its states are
    left out of the draws and the autocorrelation (and counted in the report)."""
    return np.any(chain != chain[:1], axis=(0, 2))


def summary(posterior: Posterior) -> pd.DataFrame:
    """Per parameter: mean, sd and 5/50/95% quantiles of the draws (as a run's metrics are
    summarised, `sim.engine.summaries.describe`)."""
    return pd.DataFrame([{"parameter": name, **describe(posterior.draws[name].to_numpy(float))}
                         for name in posterior.names])


def covariance(posterior: Posterior) -> np.ndarray:
    """The covariance of the draws."""
    x = posterior.draws[list(posterior.names)].to_numpy(float)
    return np.atleast_2d(np.cov(x, rowvar=False))


__all__ = ["BURN", "DRAWS", "STEPS", "WALKERS", "Posterior", "covariance", "log_prior",
           "moving_walkers", "require_sampler", "sample", "summary"]
