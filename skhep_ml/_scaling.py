"""Per-feature input transforms learned inside the unsupervised neural estimators.

Physics features mix scales and shapes (masses with heavy tails, bounded
N-subjettiness ratios, angles): a network that reconstructs or models them
in their own units spends its capacity on the tails of the widest feature.
:class:`FeatureTransform` maps each feature to a common scale, invertibly, and
is kept inside the estimator so that ``fit`` and ``score_samples`` see the
same transform (no leak of test events into it).

``"quantile"`` (Gaussianising): each feature is mapped by a monotonic
piecewise-linear function through its training quantiles: the quantile at
probability ``p`` goes to the standard-normal quantile of ``p`` (up to 1000
knots), so that the training marginals are close to standard normal. Tied
quantiles (a discrete feature) become one knot at the mean of their normal
quantiles. Beyond the training range the map continues linearly with slope
one over the feature's robust width (IQR / 1.349), so that a value far
outside the training range stays far out and scores as anomalous. A
piecewise-linear map with linear ends is what ONNX export rebuilds exactly
(:meth:`FeatureTransform.knots`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

__all__ = ["TRANSFORMS", "FeatureTransform"]

TRANSFORMS = ("quantile", "standard", "minmax")
#: Most knots of the quantile map (fewer when there are fewer rows or ties).
_MAX_KNOTS = 1000
#: Rows the quantiles are estimated from (all of them below this).
_QUANTILE_SUBSAMPLE = 200_000
#: Rows transformed at a time (float64 temporaries of one block).
_BLOCK = 65_536


class FeatureTransform:
    """Invertible per-feature transform: ``"quantile"``, ``"standard"`` or ``"minmax"``.

    Parameters
    ----------
    kind : {"quantile", "standard", "minmax"}
        ``"quantile"``: Gaussianising, with linear tails outside the training
        range (see the module docstring); ``"standard"``: zero mean and unit
        variance; ``"minmax"``: the training range onto [0, 1].
    random_state : int or None
        Subsampling of the quantile estimate on very large samples.

    Notes
    -----
    The transform is learned unweighted: it is a monotonic change of units
    per feature, and the weights enter the loss of the network that follows.
    A constant feature maps to 0 (scale 1).
    """

    def __init__(self, kind="quantile", random_state=None):
        if kind not in TRANSFORMS:
            raise ValueError(f"kind must be one of {TRANSFORMS}, got {kind!r}.")
        self.kind = kind
        self.random_state = random_state

    def fit(self, X):
        # float64 statistics of the input as it is: no float64 copy of X
        X = np.asarray(X)
        lo = X.min(axis=0).astype(np.float64)
        hi = X.max(axis=0).astype(np.float64)
        if self.kind == "minmax":
            self.shift_, self.scale_ = lo, _positive(hi - lo)
        elif self.kind == "standard":
            mean = X.sum(axis=0, dtype=np.float64) / X.shape[0]
            squares = sum(((X[sl] - mean) ** 2).sum(axis=0) for sl in _blocks(X.shape[0]))
            self.shift_, self.scale_ = mean, _positive(np.sqrt(squares / X.shape[0]))
        else:
            self.knots_, self.values_ = self._quantile_knots(X, lo, hi)
        return self

    def _quantile_knots(self, X, lo, hi):
        """Per feature, strictly increasing knots (n_knots, n_features) and their images."""
        if X.shape[0] > _QUANTILE_SUBSAMPLE:
            rng = np.random.default_rng(self.random_state)
            X = X[rng.choice(X.shape[0], _QUANTILE_SUBSAMPLE, replace=False)]
        X = np.asarray(X, dtype=np.float64)
        k = int(min(_MAX_KNOTS, X.shape[0]))
        probs = (np.arange(k) + 0.5) / k  # plotting positions: no infinite ends
        q = np.quantile(X, probs, axis=0)
        z = ndtri(probs)
        q25, q75 = np.percentile(X, [25.0, 75.0], axis=0)
        # robust width (sigma of a Gaussian with that IQR); the range if the IQR is 0
        width = _positive(np.where(q75 > q25, (q75 - q25) / 1.349, (hi - lo) / 4.0))
        columns = []
        for j in range(X.shape[1]):
            xs, inverse = np.unique(q[:, j], return_inverse=True)
            zs = np.bincount(inverse, weights=z) / np.bincount(inverse)
            if xs.size == 1:  # a constant feature maps to 0 with the width's slope
                zs = np.zeros(1)
            # one knot beyond each end: the end segments carry the linear tails
            xs = np.r_[xs[0] - width[j], xs, xs[-1] + width[j]]
            zs = np.r_[zs[0] - 1.0, zs, zs[-1] + 1.0]
            columns.append((xs, zs))
        # the same number of knots for every feature: pad along the upper tail line
        n = max(xs.size for xs, _ in columns)
        knots = np.empty((n, X.shape[1]))
        values = np.empty((n, X.shape[1]))
        for j, (xs, zs) in enumerate(columns):
            extra = np.arange(1, n - xs.size + 1)
            knots[:, j] = np.r_[xs, xs[-1] + extra * width[j]]
            values[:, j] = np.r_[zs, zs[-1] + extra]
        return knots, values

    def transform(self, X):
        """float32 transformed ``X``, computed in float64 block by block of rows."""
        X = np.asarray(X)
        out = np.empty(X.shape, dtype=np.float32)
        for sl in _blocks(X.shape[0]):
            block = np.asarray(X[sl], dtype=np.float64)
            if self.kind != "quantile":
                out[sl] = (block - self.shift_) / self.scale_
            else:
                out[sl] = _interp(block, self.knots_, self.values_)
        return out

    def inverse_transform(self, Z):
        Z = np.asarray(Z, dtype=np.float64)
        if self.kind != "quantile":
            return Z * self.scale_ + self.shift_
        return _interp(Z, self.values_, self.knots_)

    def knots(self):
        """``(knots, values)`` of shape (n_knots, n_features) of the piecewise-linear map.

        Every kind is one: an affine map is two knots. Between knots the map is
        linear; beyond the first and last knot it continues the end segments.
        """
        if self.kind == "quantile":
            return self.knots_, self.values_
        ones = np.ones_like(self.shift_)
        return np.stack([self.shift_, self.shift_ + self.scale_]), np.stack([0 * ones, ones])


def _blocks(n):
    """Slices of ``_BLOCK`` rows: float64 temporaries of one block, not of all rows."""
    return [slice(start, start + _BLOCK) for start in range(0, n, _BLOCK)]


def _interp(X, knots, values):
    """Per column, piecewise-linear through (knots, values), the end segments extended."""
    out = np.empty_like(X)
    for j in range(X.shape[1]):
        xp, fp = knots[:, j], values[:, j]
        i = np.clip(np.searchsorted(xp, X[:, j]), 1, xp.size - 1)
        x0, x1, f0, f1 = xp[i - 1], xp[i], fp[i - 1], fp[i]
        out[:, j] = f0 + (X[:, j] - x0) * (f1 - f0) / (x1 - x0)
    return out


def _positive(scale):
    """A zero scale (constant feature) becomes 1: the feature maps to a constant."""
    scale = np.asarray(scale, dtype=np.float64).copy()
    scale[~(scale > 0)] = 1.0
    return scale
