"""Confidence intervals for success rates measured by Monte Carlo trials."""

from __future__ import annotations

__all__ = ["clopper_pearson"]


def clopper_pearson(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson) two-sided interval for a binomial proportion.

    Parameters
    ----------
    successes, trials : int
        Observed successes out of ``trials`` independent trials (``0 <= successes <= trials``).
    level : float
        Coverage of the interval.

    Returns
    -------
    (low, high) : tuple of float

    References
    ----------
    C. J. Clopper and E. S. Pearson. "The use of confidence or fiducial limits illustrated in the
    case of the binomial." Biometrika 26(4), 1934, 404–413. doi:10.1093/biomet/26.4.404

    Examples
    --------
    >>> clopper_pearson(10, 10)[1]
    1.0
    >>> round(clopper_pearson(5, 10)[0], 4)
    0.1871
    """
    if trials < 1 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials >= 1, got {successes}/{trials}")
    from scipy import stats  # imported here: scipy.stats costs ~0.5 s, and `commlab --help` needs none of it

    alpha = 1.0 - level
    low = 0.0 if successes == 0 else stats.beta.ppf(alpha / 2, successes, trials - successes + 1)
    high = 1.0 if successes == trials else stats.beta.ppf(1 - alpha / 2, successes + 1, trials - successes)
    return float(low), float(high)
