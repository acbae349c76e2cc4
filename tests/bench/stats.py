"""Small statistics for `make bench`: medians of paired ratios with a
distribution-free 95% confidence interval.

Interleaved pairs (profiler run, plain run, in random order within each
round) cancel the machine's slow drifts; the ratio of each pair is one
observation.  The confidence interval of the median is the order-statistic
interval: with n observations, [x_(k), x_(n+1-k)] where k is the largest
rank with P(Binomial(n, 1/2) < k) <= 2.5%.  It assumes nothing about the
ratios' distribution, which on a shared machine has long tails.
"""
import math
import statistics


def _binom_cdf_half(k, n):
    """P(X <= k) for X ~ Binomial(n, 1/2)."""
    return sum(math.comb(n, i) for i in range(0, k + 1)) / 2.0 ** n


def median_ci(values, level=0.95):
    """(median, low, high); low/high are None when n is too small for the
    level (n < 6 at 95%)."""
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        return float("nan"), None, None
    med = statistics.median(xs)
    alpha = (1.0 - level) / 2.0
    k = 0
    while k + 1 <= n and _binom_cdf_half(k, n) <= alpha:
        k += 1
    # ranks k and n+1-k (1-based) bound the median with >= level coverage
    if k < 1:
        return med, None, None
    return med, xs[k - 1], xs[n - k]


def fmt_ratio(med, lo, hi):
    if lo is None:
        return "%.3f (CI n/a)" % med
    return "%.3f [%.3f, %.3f]" % (med, lo, hi)
