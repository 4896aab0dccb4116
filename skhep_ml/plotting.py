"""Plots of the HEP figures of merit, in scikit-learn's ``Display`` style.

Each ``*Display`` holds the computed data as attributes; ``plot(ax=None, ...)``
draws it and stores ``ax_``, ``figure_`` and the artists; the classmethods
``from_estimator`` and ``from_predictions`` compute the data (with the weighted
metrics of :mod:`skhep_ml.metrics`) and plot it in one call.

matplotlib (and mplhep) are the optional ``plot`` extra
(``pip install skhep_ml[plot]``): they are imported only when something is drawn,
so importing this module does not need them. No style is set: apply one yourself,
e.g. ``plt.style.use(mplhep.style.ATLAS)``, or pass ``style=`` to ``plot``.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from skhep_ml.metrics import (
    background_rejection,
    binned_purity_efficiency,
    inverse_jsd,
    mass_sculpting_jsd,
    max_sic,
    sic_curve,
)

__all__ = [
    "AttentionDisplay",
    "BumpHuntDisplay",
    "DecorrelationTradeoffDisplay",
    "MassSculptingDisplay",
    "PurityEfficiencyDisplay",
    "RejectionCurveDisplay",
    "SICCurveDisplay",
    "ScoreDistributionDisplay",
]


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #
def _check_matplotlib(caller):
    """Import matplotlib.pyplot, with a clear error when the extra is missing."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"{caller} requires matplotlib; install the plotting extra with "
            "`pip install skhep_ml[plot]`."
        ) from exc
    return plt


def _style_context(style):
    """A context manager applying ``style`` (name, dict or mplhep style) or nothing."""
    import contextlib

    if style is None:
        return contextlib.nullcontext()
    import matplotlib.pyplot as plt

    return plt.style.context(style)


def _new_axes(plt, ax):
    if ax is None:
        _, ax = plt.subplots()
    return ax


def _binary_score(estimator, X, response_method):
    """Signal score of a fitted binary classifier (class 1 = signal)."""
    if response_method not in ("auto", "predict_proba", "decision_function"):
        raise ValueError(
            "response_method must be 'auto', 'predict_proba' or 'decision_function', "
            f"got {response_method!r}."
        )
    methods = (
        ("predict_proba", "decision_function") if response_method == "auto" else (response_method,)
    )
    for method in methods:
        if hasattr(estimator, method):
            out = np.asarray(getattr(estimator, method)(X))
            if method == "predict_proba":
                classes = list(getattr(estimator, "classes_", [0, 1]))
                if out.ndim != 2 or out.shape[1] != 2:
                    raise ValueError(
                        "The estimator must be a binary classifier; predict_proba "
                        f"returned shape {out.shape}."
                    )
                col = classes.index(1) if 1 in classes else 1
                return out[:, col]
            return out.ravel()
    raise ValueError(f"The estimator has none of the methods {methods}.")


def _validated_roc(y_true, y_score, sample_weight):
    """Weighted ROC on input validated by :func:`skhep_ml.metrics.sic_curve`."""
    eps_s, sic = sic_curve(y_true, y_score, sample_weight=sample_weight)
    y = np.asarray(y_true).ravel() == 1
    s = np.asarray(y_score, dtype=float).ravel()
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=float).ravel()
    fpr, tpr, thresholds = roc_curve(y, s, sample_weight=w, drop_intermediate=False)
    return y, s, w, fpr, tpr, thresholds, eps_s, sic


def _column(X, values, name):
    """``values`` itself, or the column ``values`` of the DataFrame ``X``."""
    if isinstance(values, str):
        if not hasattr(X, "columns"):
            raise ValueError(f"{name}={values!r} names a column, but X is not a DataFrame.")
        return np.asarray(X[values])
    return values


# --------------------------------------------------------------------------- #
# background rejection vs signal efficiency
# --------------------------------------------------------------------------- #
class RejectionCurveDisplay:
    """Background rejection ``1/eps_B`` versus signal efficiency ``eps_S``.

    The HEP form of the ROC curve, with a logarithmic rejection axis. Build it
    with :meth:`from_estimator` or :meth:`from_predictions`; the points are those
    of the weighted ROC curve with ``eps_B > 0``, as in
    :func:`skhep_ml.metrics.background_rejection`.

    Parameters
    ----------
    signal_efficiency : ndarray
        ``eps_S`` at every cut, tightest first.
    background_rejection : ndarray
        ``1 / eps_B`` at the same cuts.
    auc : float, default=None
        Weighted area under the ROC curve, shown in the legend.
    name : str, default=None
        Name of the classifier, shown in the legend.

    Attributes
    ----------
    line_ : matplotlib Line2D
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skhep_ml.plotting import RejectionCurveDisplay
    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.ones(200), np.zeros(200)]
    >>> s = np.r_[rng.normal(1, 1, 200), rng.normal(0, 1, 200)]
    >>> disp = RejectionCurveDisplay.from_predictions(y, s, name="toy")
    >>> disp.ax_.get_yscale()
    'log'
    >>> round(disp.auc, 3)
    0.788
    """

    def __init__(self, *, signal_efficiency, background_rejection, auc=None, name=None):
        self.signal_efficiency = np.asarray(signal_efficiency)
        self.background_rejection = np.asarray(background_rejection)
        self.auc = auc
        self.name = name

    def plot(self, ax=None, *, name=None, style=None, **kwargs):
        """Draw the curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None``: a new figure.
        name : str, default=None
            Legend name; ``None``: ``self.name``.
        style : str, dict or mplhep style, default=None
            A matplotlib style applied while drawing (e.g. ``mplhep.style.CMS``).
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.plot`.

        Returns
        -------
        self : RejectionCurveDisplay
        """
        plt = _check_matplotlib(f"{type(self).__name__}.plot")
        name = self.name if name is None else name
        label = name
        if self.auc is not None:
            label = f"AUC = {self.auc:.3f}" if name is None else f"{name} (AUC = {self.auc:.3f})"
        with _style_context(style):
            ax = _new_axes(plt, ax)
            if label is not None:
                kwargs.setdefault("label", label)
            (self.line_,) = ax.plot(self.signal_efficiency, self.background_rejection, **kwargs)
            ax.set_yscale("log")
            ax.set_xlabel(r"Signal efficiency $\varepsilon_S$")
            ax.set_ylabel(r"Background rejection $1/\varepsilon_B$")
            ax.set_xlim(0.0, 1.0)
            if label is not None:
                ax.legend(loc="upper right")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_predictions(
        cls, y_true, y_score, *, sample_weight=None, name=None, ax=None, style=None, **kwargs
    ):
        """Compute the curve from true labels and scores, and plot it.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Binary truth in ``{0, 1}`` or bool (1 = signal).
        y_score : array-like of shape (n_samples,)
            Scores, larger is more signal-like.
        sample_weight : array-like of shape (n_samples,), default=None
            Event weights, used as given.
        name : str, default=None
            Legend name.
        ax : matplotlib Axes, default=None
        style : str, dict or mplhep style, default=None
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.plot`.

        Returns
        -------
        display : RejectionCurveDisplay
        """
        y, s, w, fpr, tpr, _, _, _ = _validated_roc(y_true, y_score, sample_weight)
        keep = fpr > 0
        disp = cls(
            signal_efficiency=tpr[keep],
            background_rejection=1.0 / fpr[keep],
            auc=float(roc_auc_score(y, s, sample_weight=w)),
            name=name,
        )
        return disp.plot(ax=ax, style=style, **kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        sample_weight=None,
        response_method="auto",
        name=None,
        ax=None,
        style=None,
        **kwargs,
    ):
        """Compute the curve from a fitted binary classifier, and plot it.

        Parameters
        ----------
        estimator : fitted classifier
            Class 1 is the signal.
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
        response_method : {"auto", "predict_proba", "decision_function"}, default="auto"
            ``"auto"``: ``predict_proba`` if present, else ``decision_function``.
        name : str, default=None
            Legend name; ``None``: the estimator's class name.
        ax, style, **kwargs
            As in :meth:`from_predictions`.

        Returns
        -------
        display : RejectionCurveDisplay
        """
        score = _binary_score(estimator, X, response_method)
        name = type(estimator).__name__ if name is None else name
        return cls.from_predictions(
            y, score, sample_weight=sample_weight, name=name, ax=ax, style=style, **kwargs
        )


# --------------------------------------------------------------------------- #
# significance improvement characteristic
# --------------------------------------------------------------------------- #
class SICCurveDisplay:
    """Significance improvement ``eps_S / sqrt(eps_B)`` versus ``eps_S`` or ``1/eps_B``.

    The curve of :func:`skhep_ml.metrics.sic_curve`, with its maximum
    (:func:`skhep_ml.metrics.max_sic`, optionally restricted to
    ``eps_B >= min_background_efficiency``) marked.

    Parameters
    ----------
    signal_efficiency : ndarray
        ``eps_S`` at every cut with ``eps_B > 0``, tightest first.
    background_rejection : ndarray or None
        ``1 / eps_B`` at the same cuts; ``None``: ``(sic / eps_S)**2`` (NaN where
        ``eps_S = 0``), so that a curve of :func:`~skhep_ml.metrics.sic_curve`
        makes a display.
    sic : ndarray
        ``eps_S / sqrt(eps_B)`` at the same cuts.
    max_sic : float, default=None
        The maximum SIC (over the allowed cuts).
    max_sic_signal_efficiency : float, default=None
        ``eps_S`` where the maximum is reached.
    max_sic_background_rejection : float, default=None
        ``1 / eps_B`` where the maximum is reached.
    min_background_efficiency : float, default=None
        The ``eps_B`` floor the maximum was taken with (``None``: none).
    name : str, default=None

    Attributes
    ----------
    line_ : matplotlib Line2D
    max_marker_ : matplotlib Line2D or None
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skhep_ml.plotting import SICCurveDisplay
    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.ones(200), np.zeros(200)]
    >>> s = np.r_[rng.normal(1, 1, 200), rng.normal(0, 1, 200)]
    >>> disp = SICCurveDisplay.from_predictions(y, s, min_background_efficiency=0.05)
    >>> bool(disp.max_sic == disp.sic[disp.background_rejection <= 20].max())
    True
    """

    def __init__(
        self,
        *,
        signal_efficiency,
        background_rejection=None,
        sic,
        max_sic=None,
        max_sic_signal_efficiency=None,
        max_sic_background_rejection=None,
        min_background_efficiency=None,
        name=None,
    ):
        self.signal_efficiency = np.asarray(signal_efficiency)
        self.sic = np.asarray(sic)
        if background_rejection is None:
            with np.errstate(divide="ignore", invalid="ignore"):
                background_rejection = np.where(
                    self.signal_efficiency > 0, (self.sic / self.signal_efficiency) ** 2, np.nan
                )
        self.background_rejection = np.asarray(background_rejection)
        self.max_sic = max_sic
        self.max_sic_signal_efficiency = max_sic_signal_efficiency
        self.max_sic_background_rejection = max_sic_background_rejection
        self.min_background_efficiency = min_background_efficiency
        self.name = name

    def plot(self, ax=None, *, x="signal_efficiency", name=None, style=None, **kwargs):
        """Draw the curve and mark its maximum.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
        x : {"signal_efficiency", "background_rejection"}, default="signal_efficiency"
            The horizontal axis: ``eps_S``, or ``1/eps_B`` (log scale).
        name : str, default=None
            Legend name; ``None``: ``self.name``.
        style : str, dict or mplhep style, default=None
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.plot`.

        Returns
        -------
        self : SICCurveDisplay
        """
        if x not in ("signal_efficiency", "background_rejection"):
            raise ValueError(f"x must be 'signal_efficiency' or 'background_rejection', got {x!r}.")
        plt = _check_matplotlib(f"{type(self).__name__}.plot")
        name = self.name if name is None else name
        label = name
        if self.max_sic is not None:
            text = f"max SIC = {self.max_sic:.2f}"
            label = text if name is None else f"{name} ({text})"
        xs = getattr(self, x)
        with _style_context(style):
            ax = _new_axes(plt, ax)
            if label is not None:
                kwargs.setdefault("label", label)
            (self.line_,) = ax.plot(xs, self.sic, **kwargs)
            self.max_marker_ = None
            if self.max_sic is not None:
                x_max = (
                    self.max_sic_signal_efficiency
                    if x == "signal_efficiency"
                    else self.max_sic_background_rejection
                )
                (self.max_marker_,) = ax.plot(
                    [x_max], [self.max_sic], "o", color=self.line_.get_color()
                )
            if x == "signal_efficiency":
                ax.set_xlabel(r"Signal efficiency $\varepsilon_S$")
                ax.set_xlim(0.0, 1.0)
            else:
                ax.set_xscale("log")
                ax.set_xlabel(r"Background rejection $1/\varepsilon_B$")
                if self.min_background_efficiency is not None:
                    ax.axvline(1.0 / self.min_background_efficiency, color="grey", ls=":")
            ax.set_ylabel(r"SIC $\varepsilon_S/\sqrt{\varepsilon_B}$")
            if label is not None:
                ax.legend()
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_score,
        *,
        sample_weight=None,
        min_background_efficiency=None,
        x="signal_efficiency",
        name=None,
        ax=None,
        style=None,
        **kwargs,
    ):
        """Compute the SIC curve from true labels and scores, and plot it.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Binary truth in ``{0, 1}`` or bool (1 = signal).
        y_score : array-like of shape (n_samples,)
            Scores, larger is more signal-like.
        sample_weight : array-like of shape (n_samples,), default=None
        min_background_efficiency : float in (0, 1], default=None
            The maximum is taken over ``eps_B >= min_background_efficiency``
            (as in :func:`skhep_ml.metrics.max_sic`).
        x : {"signal_efficiency", "background_rejection"}, default="signal_efficiency"
        name : str, default=None
        ax : matplotlib Axes, default=None
        style : str, dict or mplhep style, default=None
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.plot`.

        Returns
        -------
        display : SICCurveDisplay
        """
        _, _, _, fpr, _, _, eps_s, sic = _validated_roc(y_true, y_score, sample_weight)
        eps_b = fpr[fpr > 0]
        best = max_sic(
            y_true,
            y_score,
            sample_weight=sample_weight,
            min_background_efficiency=min_background_efficiency,
        )
        allowed = eps_b >= (min_background_efficiency or 0.0)
        i = int(np.flatnonzero(allowed)[np.argmax(sic[allowed])])
        disp = cls(
            signal_efficiency=eps_s,
            background_rejection=1.0 / eps_b,
            sic=sic,
            max_sic=best,
            max_sic_signal_efficiency=float(eps_s[i]),
            max_sic_background_rejection=float(1.0 / eps_b[i]),
            min_background_efficiency=min_background_efficiency,
            name=name,
        )
        return disp.plot(ax=ax, x=x, style=style, **kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        sample_weight=None,
        min_background_efficiency=None,
        response_method="auto",
        x="signal_efficiency",
        name=None,
        ax=None,
        style=None,
        **kwargs,
    ):
        """Compute the SIC curve from a fitted binary classifier, and plot it.

        Parameters
        ----------
        estimator : fitted classifier
            Class 1 is the signal.
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
        min_background_efficiency : float in (0, 1], default=None
        response_method : {"auto", "predict_proba", "decision_function"}, default="auto"
        x, name, ax, style, **kwargs
            As in :meth:`from_predictions`; ``name=None``: the estimator's class name.

        Returns
        -------
        display : SICCurveDisplay
        """
        score = _binary_score(estimator, X, response_method)
        name = type(estimator).__name__ if name is None else name
        return cls.from_predictions(
            y,
            score,
            sample_weight=sample_weight,
            min_background_efficiency=min_background_efficiency,
            x=x,
            name=name,
            ax=ax,
            style=style,
            **kwargs,
        )


# --------------------------------------------------------------------------- #
# mass sculpting
# --------------------------------------------------------------------------- #
class MassSculptingDisplay:
    """Background mass spectrum before and after cuts at several signal efficiencies.

    Each cut is the tightest ``score >= t`` keeping at least the given weighted
    signal efficiency, as in :func:`skhep_ml.metrics.mass_sculpting_jsd`; the
    spectra are normalised to unit area and the legend gives the metric's
    Jensen-Shannon divergence between the passing and failing background.

    Parameters
    ----------
    bin_edges : ndarray
        Edges of the mass histograms.
    background : ndarray
        Normalised (unit-area density) background spectrum before any cut.
    background_after : list of ndarray
        Normalised background spectrum passing each cut.
    signal_efficiencies : tuple of float
    thresholds : ndarray
        Score cut of each efficiency.
    jsd : ndarray
        :func:`~skhep_ml.metrics.mass_sculpting_jsd` of each cut.
    inverse_jsd : ndarray
        :func:`~skhep_ml.metrics.inverse_jsd` of each cut.
    name : str, default=None
    xlabel : str, default="mass"

    Attributes
    ----------
    lines_ : list of matplotlib artists
        The spectrum before the cuts, then one per cut.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skhep_ml.plotting import MassSculptingDisplay
    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.ones(300), np.zeros(300)]
    >>> mass = rng.uniform(50, 150, 600)
    >>> s = y + 0.01 * mass + rng.normal(0, 1, 600)
    >>> disp = MassSculptingDisplay.from_predictions(y, s, mass, bins=10)
    >>> len(disp.jsd), len(disp.lines_)
    (3, 4)
    """

    def __init__(
        self,
        *,
        bin_edges,
        background,
        background_after,
        signal_efficiencies,
        thresholds,
        jsd,
        inverse_jsd,
        name=None,
        xlabel="mass",
    ):
        self.bin_edges = np.asarray(bin_edges)
        self.background = np.asarray(background)
        self.background_after = [np.asarray(h) for h in background_after]
        self.signal_efficiencies = tuple(signal_efficiencies)
        self.thresholds = np.asarray(thresholds)
        self.jsd = np.asarray(jsd)
        self.inverse_jsd = np.asarray(inverse_jsd)
        self.name = name
        self.xlabel = xlabel

    def plot(self, ax=None, *, style=None, **kwargs):
        """Draw the spectra.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
        style : str, dict or mplhep style, default=None
        **kwargs
            Passed to every :meth:`matplotlib.axes.Axes.stairs` call.

        Returns
        -------
        self : MassSculptingDisplay
        """
        plt = _check_matplotlib(f"{type(self).__name__}.plot")
        with _style_context(style):
            ax = _new_axes(plt, ax)
            before = ax.stairs(
                self.background, self.bin_edges, color="black", label="background, no cut", **kwargs
            )
            self.lines_ = [before]
            for eff, h, jsd in zip(self.signal_efficiencies, self.background_after, self.jsd):
                label = rf"$\varepsilon_S$ = {eff:g}: JSD = {jsd:.3g}"
                self.lines_.append(ax.stairs(h, self.bin_edges, label=label, **kwargs))
            ax.set_xlabel(self.xlabel)
            ax.set_ylabel("normalised background")
            ax.legend(title=self.name, fontsize="small")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_score,
        mass,
        *,
        signal_efficiencies=(0.3, 0.5, 0.7),
        bins=30,
        range=None,
        sample_weight=None,
        name=None,
        xlabel="mass",
        ax=None,
        style=None,
        **kwargs,
    ):
        """Compute the spectra from labels, scores and the mass, and plot them.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Binary truth in ``{0, 1}`` or bool (1 = signal).
        y_score : array-like of shape (n_samples,)
            Scores, larger is more signal-like.
        mass : array-like of shape (n_samples,)
            The variable whose sculpting is shown.
        signal_efficiencies : sequence of float in [0, 1], default=(0.3, 0.5, 0.7)
        bins : int or array-like, default=30
            As in :func:`numpy.histogram`.
        range : (float, float), default=None
            ``None``: min and max of the background mass.
        sample_weight : array-like of shape (n_samples,), default=None
            Event weights; negative bin contents are clipped to zero.
        name : str, default=None
            Legend title.
        xlabel : str, default="mass"
        ax : matplotlib Axes, default=None
        style : str, dict or mplhep style, default=None
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.stairs`.

        Returns
        -------
        display : MassSculptingDisplay
        """
        signal_efficiencies = tuple(signal_efficiencies)
        if not signal_efficiencies:
            raise ValueError("signal_efficiencies must not be empty.")
        metric_kw = dict(bins=bins, range=range, sample_weight=sample_weight)
        # the metrics validate every input (lengths, labels, NaN, efficiencies)
        jsd = np.array(
            [
                mass_sculpting_jsd(y_true, y_score, mass, signal_efficiency=e, **metric_kw)
                for e in signal_efficiencies
            ]
        )
        inv = np.array(
            [
                inverse_jsd(y_true, y_score, mass, signal_efficiency=e, **metric_kw)
                for e in signal_efficiencies
            ]
        )
        y, s, w, _, tpr, thr, _, _ = _validated_roc(y_true, y_score, sample_weight)
        w = np.ones_like(s) if w is None else w
        m = np.asarray(mass, dtype=float).ravel()
        bkg = ~y
        if range is None:
            range = (float(m[bkg].min()), float(m[bkg].max()))

        def density(mask, edges):
            h, edges = np.histogram(m[mask], bins=edges, range=range, weights=w[mask])
            h = np.clip(h, 0.0, None)
            total = (h * np.diff(edges)).sum()
            return (h / total if total > 0 else h), edges

        before, edges = density(bkg, bins)
        thresholds, after = [], []
        for e in signal_efficiencies:
            idx = np.flatnonzero(tpr >= e)
            cut = thr[idx[0] if idx.size else tpr.shape[0] - 1]
            thresholds.append(float(cut))
            after.append(density(bkg & (s >= cut), edges)[0])
        disp = cls(
            bin_edges=edges,
            background=before,
            background_after=after,
            signal_efficiencies=signal_efficiencies,
            thresholds=np.array(thresholds),
            jsd=jsd,
            inverse_jsd=inv,
            name=name,
            xlabel=xlabel,
        )
        return disp.plot(ax=ax, style=style, **kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        mass,
        signal_efficiencies=(0.3, 0.5, 0.7),
        bins=30,
        range=None,
        sample_weight=None,
        response_method="auto",
        name=None,
        xlabel="mass",
        ax=None,
        style=None,
        **kwargs,
    ):
        """Compute the spectra from a fitted binary classifier, and plot them.

        Parameters
        ----------
        estimator : fitted classifier
            Class 1 is the signal.
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        mass : array-like of shape (n_samples,) or str
            The mass, or the name of a column of the DataFrame ``X``.
        signal_efficiencies, bins, range, sample_weight
            As in :meth:`from_predictions`.
        response_method : {"auto", "predict_proba", "decision_function"}, default="auto"
        name, xlabel, ax, style, **kwargs
            As in :meth:`from_predictions`; ``name=None``: the estimator's class name,
            ``xlabel`` defaults to the column name when ``mass`` is one.

        Returns
        -------
        display : MassSculptingDisplay
        """
        if isinstance(mass, str) and xlabel == "mass":
            xlabel = mass
        mass = _column(X, mass, "mass")
        score = _binary_score(estimator, X, response_method)
        name = type(estimator).__name__ if name is None else name
        return cls.from_predictions(
            y,
            score,
            mass,
            signal_efficiencies=signal_efficiencies,
            bins=bins,
            range=range,
            sample_weight=sample_weight,
            name=name,
            xlabel=xlabel,
            ax=ax,
            style=style,
            **kwargs,
        )


# --------------------------------------------------------------------------- #
# purity and efficiency in bins of a variable
# --------------------------------------------------------------------------- #
class PurityEfficiencyDisplay:
    """Purity and efficiency of one species versus a binned variable (e.g. pT).

    In every bin of ``variable``, the efficiency is the weighted fraction of the
    true ``pos_label`` events predicted as ``pos_label``
    (:func:`skhep_ml.metrics.efficiency_score`) and the purity the weighted
    fraction of the events predicted as ``pos_label`` that are truly it
    (:func:`skhep_ml.metrics.purity_score`), as computed by
    :func:`skhep_ml.metrics.binned_purity_efficiency`, with its binomial errors.

    Parameters
    ----------
    bin_edges : ndarray
    purity, efficiency : ndarray
        One value per bin; NaN where the denominator is empty.
    purity_err, efficiency_err : ndarray
        Binomial errors.
    pos_label : scalar, default=1
    name : str, default=None
    xlabel : str, default="variable"

    Attributes
    ----------
    purity_errorbar_, efficiency_errorbar_ : matplotlib ErrorbarContainer or None
        ``None`` when the last ``plot`` did not draw that quantity.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from skhep_ml.plotting import PurityEfficiencyDisplay
    >>> y_true = [211, 211, 321, 321, 211, 321]
    >>> y_pred = [211, 321, 321, 321, 211, 211]
    >>> pt = [0.5, 0.7, 0.6, 1.5, 1.6, 1.7]
    >>> disp = PurityEfficiencyDisplay.from_predictions(
    ...     y_true, y_pred, pt, bins=[0, 1, 2], pos_label=321
    ... )
    >>> disp.efficiency.tolist(), disp.purity.tolist()
    ([1.0, 0.5], [0.5, 1.0])
    """

    def __init__(
        self,
        *,
        bin_edges,
        purity,
        efficiency,
        purity_err=None,
        efficiency_err=None,
        pos_label=1,
        name=None,
        xlabel="variable",
    ):
        self.bin_edges = np.asarray(bin_edges)
        self.purity = np.asarray(purity)
        self.efficiency = np.asarray(efficiency)
        self.purity_err = None if purity_err is None else np.asarray(purity_err)
        self.efficiency_err = None if efficiency_err is None else np.asarray(efficiency_err)
        self.pos_label = pos_label
        self.name = name
        self.xlabel = xlabel

    def plot(self, ax=None, *, kind="both", name=None, style=None, **kwargs):
        """Draw purity and efficiency per bin with their error bars.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
        kind : {"both", "purity", "efficiency"}, default="both"
            What to draw. With one quantity the legend entry is the display's
            name, so that several methods compare on one Axes (one panel per
            quantity).
        name : str, default=None
            Legend name (``kind="both"``: the legend title); ``None``: ``self.name``.
        style : str, dict or mplhep style, default=None
        **kwargs
            Passed to the :meth:`matplotlib.axes.Axes.errorbar` calls.

        Returns
        -------
        self : PurityEfficiencyDisplay
        """
        if kind not in ("both", "purity", "efficiency"):
            raise ValueError(f"kind must be 'both', 'purity' or 'efficiency', got {kind!r}.")
        plt = _check_matplotlib(f"{type(self).__name__}.plot")
        name = self.name if name is None else name
        centres = 0.5 * (self.bin_edges[1:] + self.bin_edges[:-1])
        half = 0.5 * np.diff(self.bin_edges)
        if not {"marker", "ls", "linestyle"} & kwargs.keys():
            kwargs.setdefault("fmt", "o")  # points only, unless a line style is asked for
        kwargs.setdefault("ms", 4)
        quantities = ("efficiency", "purity") if kind == "both" else (kind,)
        with _style_context(style):
            ax = _new_axes(plt, ax)
            self.purity_errorbar_ = self.efficiency_errorbar_ = None
            for what in quantities:
                label = f"{what} ({self.pos_label})" if kind == "both" else name
                artist = ax.errorbar(
                    centres,
                    getattr(self, what),
                    xerr=half,
                    yerr=getattr(self, f"{what}_err"),
                    label=label,
                    **kwargs,
                )
                setattr(self, f"{what}_errorbar_", artist)
            ax.set_xlabel(self.xlabel)
            ax.set_ylabel("purity, efficiency" if kind == "both" else kind)
            ax.set_ylim(0.0, 1.05)
            if kind == "both":
                ax.legend(title=name)
            elif name is not None:
                ax.legend()
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_pred,
        variable,
        *,
        bins=10,
        range=None,
        pos_label=1,
        sample_weight=None,
        name=None,
        xlabel="variable",
        ax=None,
        style=None,
        **kwargs,
    ):
        """Compute purity and efficiency per bin from labels, and plot them.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True labels (any type, e.g. PDG codes).
        y_pred : array-like of shape (n_samples,)
            Predicted labels.
        variable : array-like of shape (n_samples,)
            The variable to bin in (e.g. the transverse momentum).
        bins : int or array-like, default=10
            As in :func:`numpy.histogram`; events outside the range are ignored.
        range : (float, float), default=None
            ``None``: min and max of ``variable``.
        pos_label : scalar, default=1
            The species.
        sample_weight : array-like of shape (n_samples,), default=None
            Event weights, used as given.
        name : str, default=None
            Legend title.
        xlabel : str, default="variable"
        ax : matplotlib Axes, default=None
        style : str, dict or mplhep style, default=None
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.errorbar`.

        Returns
        -------
        display : PurityEfficiencyDisplay
        """
        table = binned_purity_efficiency(
            y_true,
            y_pred,
            variable,
            bins=bins,
            range=range,
            pos_label=pos_label,
            sample_weight=sample_weight,
        )
        edges = np.r_[table["low"].to_numpy(), table["high"].to_numpy()[-1:]]
        purity, purity_err = table["purity"].to_numpy(), table["purity_err"].to_numpy()
        efficiency = table["efficiency"].to_numpy()
        efficiency_err = table["efficiency_err"].to_numpy()
        disp = cls(
            bin_edges=edges,
            purity=purity,
            efficiency=efficiency,
            purity_err=purity_err,
            efficiency_err=efficiency_err,
            pos_label=pos_label,
            name=name,
            xlabel=xlabel,
        )
        return disp.plot(ax=ax, style=style, **kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        variable,
        bins=10,
        range=None,
        pos_label=1,
        sample_weight=None,
        name=None,
        xlabel="variable",
        ax=None,
        style=None,
        **kwargs,
    ):
        """Compute purity and efficiency per bin from a fitted classifier's ``predict``.

        Parameters
        ----------
        estimator : fitted classifier
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        variable : array-like of shape (n_samples,) or str
            The variable, or the name of a column of the DataFrame ``X``.
        bins, range, pos_label, sample_weight, name, xlabel, ax, style, **kwargs
            As in :meth:`from_predictions`; ``name=None``: the estimator's class
            name, ``xlabel`` defaults to the column name when ``variable`` is one.

        Returns
        -------
        display : PurityEfficiencyDisplay
        """
        if isinstance(variable, str) and xlabel == "variable":
            xlabel = variable
        variable = _column(X, variable, "variable")
        name = type(estimator).__name__ if name is None else name
        return cls.from_predictions(
            y,
            estimator.predict(X),
            variable,
            bins=bins,
            range=range,
            pos_label=pos_label,
            sample_weight=sample_weight,
            name=name,
            xlabel=xlabel,
            ax=ax,
            style=style,
            **kwargs,
        )


# --------------------------------------------------------------------------- #
# bump hunt
# --------------------------------------------------------------------------- #
class BumpHuntDisplay:
    """Spectra, fitted background, residuals and local significance of a bump hunt.

    Three stacked panels sharing the mass axis, one colour per cut efficiency:
    the mass spectrum after each cut with the sideband fit of one window (the
    window shaded), the pulls ``(n - mu) / sqrt(mu)`` per bin, and the local
    significance of every scanned window (the significance scan). Build it with
    :meth:`from_result` from a :class:`~skhep_ml.bump_hunt.BumpHuntResult`.

    Parameters
    ----------
    bin_edges : ndarray of shape (n_bins + 1,)
    counts : ndarray of shape (n_efficiencies, n_bins)
        Observed (weighted) counts per bin after each cut.
    background : ndarray of shape (n_efficiencies, n_bins)
        Fitted background per bin.
    background_unc : ndarray of shape (n_efficiencies, n_bins)
        Its uncertainty from the fit covariance.
    window : (float, float)
        The signal-region window the fits belong to.
    efficiencies : tuple of float
        The cut efficiencies, one per row of ``counts``.
    window_centres : ndarray of shape (n_windows,)
        Centre of every scanned window.
    significance : ndarray of shape (n_efficiencies, n_windows)
        Local significance of every window after each cut.
    xlabel : str, default="mass"

    Attributes
    ----------
    spectra_ : list of matplotlib ErrorbarContainer
        One per efficiency.
    background_lines_ : list of matplotlib StepPatch
    residuals_ : list of matplotlib ErrorbarContainer
        Empty when only the spectrum panel was drawn.
    significance_lines_ : list of matplotlib Line2D
        Empty when only the spectrum panel was drawn.
    ax_ : ndarray of matplotlib Axes
        The three panels, or the one spectrum panel.
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skhep_ml.bump_hunt import bump_hunt
    >>> from skhep_ml.plotting import BumpHuntDisplay
    >>> rng = np.random.default_rng(0)
    >>> mass = 2.8 + rng.exponential(0.4, 5000)
    >>> res = bump_hunt(mass, efficiencies=(1.0,), bins=np.linspace(2.8, 4.4, 17),
    ...                 fit_method="scipy")
    >>> disp = BumpHuntDisplay.from_result(res)
    >>> len(disp.ax_), disp.significance.shape == (1, len(disp.window_centres))
    (3, True)
    """

    def __init__(
        self,
        *,
        bin_edges,
        counts,
        background,
        background_unc,
        window,
        efficiencies,
        window_centres,
        significance,
        xlabel="mass",
    ):
        self.bin_edges = np.asarray(bin_edges)
        self.counts = np.atleast_2d(counts)
        self.background = np.atleast_2d(background)
        self.background_unc = np.atleast_2d(background_unc)
        self.window = tuple(window)
        self.efficiencies = tuple(efficiencies)
        self.window_centres = np.asarray(window_centres)
        self.significance = np.atleast_2d(significance)
        self.xlabel = xlabel

    def plot(self, ax=None, *, style=None):
        """Draw the three panels, or the spectrum panel alone.

        Parameters
        ----------
        ax : matplotlib Axes or sequence of three Axes, default=None
            One Axes: the spectra with their fits only. Three: the spectrum,
            residual and significance panels. ``None``: a new figure with the
            three panels.
        style : str, dict or mplhep style, default=None

        Returns
        -------
        self : BumpHuntDisplay
        """
        plt = _check_matplotlib(f"{type(self).__name__}.plot")
        with _style_context(style):
            if ax is None:
                _, ax = plt.subplots(
                    3,
                    1,
                    sharex=True,
                    figsize=(6.4, 7.2),
                    gridspec_kw=dict(height_ratios=[3, 1, 1.5], hspace=0.05),
                )
            ax = np.asarray(ax, dtype=object).ravel()
            if ax.shape not in ((1,), (3,)):
                raise ValueError(f"ax must be one Axes or hold three Axes, got {ax.shape[0]}.")
            top = ax[0]
            centres = 0.5 * (self.bin_edges[1:] + self.bin_edges[:-1])
            colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
            lo, hi = self.window
            z_at = self.significance[:, np.argmin(np.abs(self.window_centres - 0.5 * (lo + hi)))]
            self.spectra_, self.background_lines_ = [], []
            self.residuals_, self.significance_lines_ = [], []
            for i, eff in enumerate(self.efficiencies):
                colour = colours[i % len(colours)]
                counts, mu = self.counts[i], self.background[i]
                self.spectra_.append(
                    top.errorbar(
                        centres,
                        counts,
                        yerr=np.sqrt(np.clip(counts, 0.0, None)),
                        fmt="o",
                        ms=3,
                        color=colour,
                        label=rf"$\varepsilon$ = {eff:g}: Z = {z_at[i]:.1f}$\sigma$",
                    )
                )
                self.background_lines_.append(
                    top.stairs(mu, self.bin_edges, baseline=None, color=colour, ls="--")
                )
                if len(ax) == 3:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        pull = np.where(mu > 0, (counts - mu) / np.sqrt(mu), np.nan)
                    self.residuals_.append(ax[1].plot(centres, pull, "o", ms=3, color=colour)[0])
                    self.significance_lines_.append(
                        ax[2].plot(self.window_centres, self.significance[i], "o-", color=colour)[0]
                    )
            for a in ax:
                a.axvspan(lo, hi, color="grey", alpha=0.2)
            top.set_yscale("log")
            top.set_ylabel("events / bin")
            top.legend(title="dashed: background fit", fontsize="small")
            if len(ax) == 3:
                ax[1].axhline(0.0, color="grey", lw=1)
                ax[1].set_ylabel("pull")
                ax[2].axhline(0.0, color="grey", lw=1)
                ax[2].set_ylabel(r"local $Z$ [$\sigma$]")
            ax[-1].set_xlabel(self.xlabel)
        self.ax_ = ax
        self.figure_ = top.figure
        return self

    @classmethod
    def from_result(
        cls, result, *, window=None, efficiencies=None, xlabel="mass", ax=None, style=None
    ):
        """Draw a :class:`~skhep_ml.bump_hunt.BumpHuntResult`.

        Parameters
        ----------
        result : BumpHuntResult
        window : int, default=None
            Index into ``result.windows`` of the fits to draw; ``None``: the
            window with the largest significance after the tightest cut drawn.
        efficiencies : float or sequence of float, default=None
            Some of ``result.efficiencies``; ``None``: all of them.
        xlabel : str, default="mass"
        ax : matplotlib Axes or sequence of three Axes, default=None
            As in :meth:`plot`.
        style : str, dict or mplhep style, default=None

        Returns
        -------
        display : BumpHuntDisplay
        """
        if efficiencies is None:
            efficiencies = result.efficiencies
        efficiencies = tuple(float(e) for e in np.atleast_1d(efficiencies))
        unknown = [e for e in efficiencies if e not in result.efficiencies]
        if unknown or not efficiencies:
            raise ValueError(
                f"efficiencies must be some of {result.efficiencies}, got {efficiencies!r}."
            )
        table = result.table
        significance = np.array(
            [
                [
                    float(
                        table.significance[
                            (table.window_lo == lo)
                            & (table.window_hi == hi)
                            & (table.efficiency == eff)
                        ].iloc[0]
                    )
                    for lo, hi in result.windows
                ]
                for eff in efficiencies
            ]
        )
        if window is None:
            window = int(np.nanargmax(significance[int(np.argmin(efficiencies))]))
        if not 0 <= window < len(result.windows):
            raise ValueError(
                f"window must index one of the {len(result.windows)} windows, got {window!r}."
            )
        fits = [result.fits[window, eff].expected() for eff in efficiencies]
        disp = cls(
            bin_edges=result.edges,
            counts=np.array([result.spectra[window, eff] for eff in efficiencies]),
            background=np.array([mu for mu, _ in fits]),
            background_unc=np.array([unc for _, unc in fits]),
            window=result.windows[window],
            efficiencies=efficiencies,
            window_centres=np.array([0.5 * (lo + hi) for lo, hi in result.windows]),
            significance=significance,
            xlabel=xlabel,
        )
        return disp.plot(ax=ax, style=style)


# --------------------------------------------------------------------------- #
# score distributions by group
# --------------------------------------------------------------------------- #
class ScoreDistributionDisplay:
    """Normalised histograms of a score (or any variable), one per group of rows.

    The classifier output for signal and background, for simulation and data,
    or at several values of a nuisance parameter: the picture behind a domain
    shift or a dependence that decorrelation should remove.

    Parameters
    ----------
    bin_edges : ndarray of shape (n_bins + 1,)
    histograms : list of ndarray of shape (n_bins,)
        One (weighted, normalised if ``density``) histogram per group.
    labels : list of str
        The legend entry of each group.
    density : bool, default=True
        Whether the histograms have unit area.
    name : str, default=None
        Legend title.
    xlabel : str, default="score"

    Attributes
    ----------
    lines_ : list of matplotlib StepPatch
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skhep_ml.plotting import ScoreDistributionDisplay
    >>> rng = np.random.default_rng(0)
    >>> score = rng.uniform(size=1000)
    >>> domain = np.where(rng.uniform(size=1000) < 0.5, "simulation", "data")
    >>> disp = ScoreDistributionDisplay.from_predictions(score, domain, bins=10, range=(0, 1))
    >>> disp.labels, float(np.round((disp.histograms[0] * 0.1).sum(), 6))
    (['data', 'simulation'], 1.0)
    """

    def __init__(self, *, bin_edges, histograms, labels, density=True, name=None, xlabel="score"):
        self.bin_edges = np.asarray(bin_edges)
        self.histograms = [np.asarray(h) for h in histograms]
        self.labels = list(labels)
        self.density = density
        self.name = name
        self.xlabel = xlabel

    def plot(self, ax=None, *, line_kwargs=None, style=None, **kwargs):
        """Draw one step histogram per group.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
        line_kwargs : sequence of dict, default=None
            Keyword arguments of each group's line (e.g. its colour and line
            style), on top of ``kwargs``.
        style : str, dict or mplhep style, default=None
        **kwargs
            Passed to every :meth:`matplotlib.axes.Axes.stairs` call.

        Returns
        -------
        self : ScoreDistributionDisplay
        """
        plt = _check_matplotlib(f"{type(self).__name__}.plot")
        line_kwargs = [{}] * len(self.histograms) if line_kwargs is None else list(line_kwargs)
        if len(line_kwargs) != len(self.histograms):
            raise ValueError(
                f"line_kwargs must hold one dict per group ({len(self.histograms)}), "
                f"got {len(line_kwargs)}."
            )
        with _style_context(style):
            ax = _new_axes(plt, ax)
            self.lines_ = [
                ax.stairs(h, self.bin_edges, label=label, **{**kwargs, **kw})
                for h, label, kw in zip(self.histograms, self.labels, line_kwargs)
            ]
            ax.set_xlabel(self.xlabel)
            ax.set_ylabel("density" if self.density else "events / bin")
            ax.legend(title=self.name, fontsize="small")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_predictions(
        cls,
        y_score,
        groups,
        *,
        bins=40,
        range=None,
        sample_weight=None,
        density=True,
        labels=None,
        name=None,
        xlabel="score",
        ax=None,
        style=None,
        **kwargs,
    ):
        """Histogram a score per group of rows, and plot it.

        Parameters
        ----------
        y_score : array-like of shape (n_samples,)
        groups : array-like of shape (n_samples,)
            The group of every row (a class, a domain, a nuisance value); one
            histogram per distinct value, in sorted order.
        bins : int or array-like, default=40
            As in :func:`numpy.histogram`.
        range : (float, float), default=None
            ``None``: min and max of the scores.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights; negative bin contents are kept as they are.
        density : bool, default=True
            Normalise every histogram to unit area.
        labels : dict, default=None
            Legend entry of a group value; ``None`` (or a value it lacks): ``str(value)``.
        name, xlabel, ax, style, **kwargs
            As in :meth:`plot` and the class parameters.

        Returns
        -------
        display : ScoreDistributionDisplay
        """
        try:
            s = np.asarray(y_score, dtype=float).ravel()
        except (TypeError, ValueError) as exc:
            raise ValueError("y_score must be numeric.") from exc
        g = np.asarray(groups).ravel()
        if g.shape != s.shape:
            raise ValueError(
                f"Inconsistent numbers of samples: y_score={s.shape[0]}, groups={g.shape[0]}."
            )
        if s.size == 0:
            raise ValueError("y_score is empty.")
        if not np.isfinite(s).all():
            raise ValueError("y_score contains NaN or infinity.")
        w = np.ones_like(s) if sample_weight is None else np.asarray(sample_weight, float).ravel()
        if w.shape != s.shape:
            raise ValueError(f"sample_weight has {w.shape[0]} entries; y_score has {s.shape[0]}.")
        _, edges = np.histogram(s, bins=bins, range=range)
        values = np.unique(g)
        histograms = [
            np.histogram(s[g == v], bins=edges, weights=w[g == v], density=density)[0]
            for v in values
        ]
        labels = labels or {}
        disp = cls(
            bin_edges=edges,
            histograms=histograms,
            labels=[labels.get(v, str(v)) for v in values],
            density=density,
            name=name,
            xlabel=xlabel,
        )
        return disp.plot(ax=ax, style=style, **kwargs)


# --------------------------------------------------------------------------- #
# background rejection against mass sculpting
# --------------------------------------------------------------------------- #
class DecorrelationTradeoffDisplay:
    """Background rejection against 1/JSD: the trade-off of a decorrelated classifier.

    Every point is one model (e.g. one adversary strength): its background
    rejection ``1/eps_B`` at a fixed signal efficiency
    (:func:`skhep_ml.metrics.background_rejection`) against the inverse
    Jensen-Shannon divergence of the background mass passing and failing that
    cut (:func:`skhep_ml.metrics.inverse_jsd`; larger is less sculpted), both on
    log axes, as in Kasieczka et al., arXiv:2001.05310. Up and to the right is
    better; a family of models traces a frontier.

    Parameters
    ----------
    background_rejection : ndarray of shape (n_models,)
    inverse_jsd : ndarray of shape (n_models,)
    point_labels : list of str, default=None
        A short annotation per point (e.g. the strength ``λ``).
    signal_efficiency : float, default=0.5
    name : str, default=None
        Legend entry of the family.

    Attributes
    ----------
    line_ : matplotlib Line2D
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skhep_ml.plotting import DecorrelationTradeoffDisplay
    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.ones(500), np.zeros(500)]
    >>> mass = rng.uniform(50, 150, 1000)
    >>> scores = [y + a * mass / 100 + rng.normal(0, 1, 1000) for a in (0.0, 2.0)]
    >>> disp = DecorrelationTradeoffDisplay.from_predictions(
    ...     y, scores, mass, point_labels=["flat", "sculpting"])
    >>> bool(disp.inverse_jsd[0] > disp.inverse_jsd[1])
    True
    """

    def __init__(
        self,
        *,
        background_rejection,
        inverse_jsd,
        point_labels=None,
        signal_efficiency=0.5,
        name=None,
    ):
        self.background_rejection = np.asarray(background_rejection, dtype=float)
        self.inverse_jsd = np.asarray(inverse_jsd, dtype=float)
        self.point_labels = None if point_labels is None else list(point_labels)
        self.signal_efficiency = signal_efficiency
        self.name = name

    def plot(self, ax=None, *, name=None, style=None, **kwargs):
        """Draw the points (joined when there are several) with their annotations.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
        name : str, default=None
            Legend entry; ``None``: ``self.name``.
        style : str, dict or mplhep style, default=None
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.plot` (default marker ``"o"``).

        Returns
        -------
        self : DecorrelationTradeoffDisplay
        """
        plt = _check_matplotlib(f"{type(self).__name__}.plot")
        name = self.name if name is None else name
        kwargs.setdefault("marker", "o")
        kwargs.setdefault("ls", "-" if self.inverse_jsd.size > 1 else "")
        if name is not None:
            kwargs.setdefault("label", name)
        with _style_context(style):
            ax = _new_axes(plt, ax)
            (self.line_,) = ax.plot(self.inverse_jsd, self.background_rejection, **kwargs)
            for text, x, y in zip(
                self.point_labels or [], self.inverse_jsd, self.background_rejection
            ):
                ax.annotate(text, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
            ax.set_xscale("log")
            ax.set_yscale("log")
            eff = f"{self.signal_efficiency:g}"
            ax.set_xlabel(rf"1/JSD (background mass, pass vs fail at $\varepsilon_S$ = {eff})")
            ax.set_ylabel(rf"background rejection $1/\varepsilon_B$ at $\varepsilon_S$ = {eff}")
            if name is not None:
                ax.legend(fontsize="small")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_scores,
        mass,
        *,
        signal_efficiency=0.5,
        sample_weight=None,
        bins=30,
        point_labels=None,
        name=None,
        ax=None,
        style=None,
        **kwargs,
    ):
        """Compute one point per score, and plot them.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Binary truth (1 = signal).
        y_scores : array-like of shape (n_samples,) or sequence of them
            The scores of one model, or of a family of models.
        mass : array-like of shape (n_samples,)
        signal_efficiency : float, default=0.5
        sample_weight : array-like of shape (n_samples,), default=None
        bins : int or array-like, default=30
            Mass bins of the JSD.
        point_labels, name, ax, style, **kwargs
            As in the class parameters and :meth:`plot`.

        Returns
        -------
        display : DecorrelationTradeoffDisplay
        """
        scores = np.asarray(y_scores, dtype=float)
        scores = scores[None] if scores.ndim == 1 else scores
        # the metrics validate labels, lengths, weights and the efficiency
        rejection = [
            background_rejection(
                y_true, s, signal_efficiency=signal_efficiency, sample_weight=sample_weight
            )
            for s in scores
        ]
        inv = [
            inverse_jsd(
                y_true,
                s,
                mass,
                signal_efficiency=signal_efficiency,
                bins=bins,
                sample_weight=sample_weight,
            )
            for s in scores
        ]
        disp = cls(
            background_rejection=rejection,
            inverse_jsd=inv,
            point_labels=point_labels,
            signal_efficiency=signal_efficiency,
            name=name,
        )
        return disp.plot(ax=ax, style=style, **kwargs)


# --------------------------------------------------------------------------- #
# FSE attention
# --------------------------------------------------------------------------- #
class AttentionDisplay:
    """Mean attention-pooling weight per feature of a :class:`~skhep_ml.FSEAttentionClassifier`.

    The weights of a row (``estimator.attention_weights(X)``) sum to 1 over its
    present features; the bars are their (weighted) mean over the rows, with the
    standard deviation as error bar.

    Parameters
    ----------
    feature_names : ndarray of str
    mean_attention : ndarray
    std_attention : ndarray, default=None
    name : str, default=None

    Attributes
    ----------
    bars_ : matplotlib BarContainer
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from skhep_ml.plotting import AttentionDisplay
    >>> disp = AttentionDisplay(feature_names=["p", "tof"], mean_attention=[0.7, 0.3]).plot()
    >>> [float(b.get_width()) for b in disp.bars_]
    [0.7, 0.3]
    """

    def __init__(self, *, feature_names, mean_attention, std_attention=None, name=None):
        self.feature_names = np.asarray(feature_names, dtype=object)
        self.mean_attention = np.asarray(mean_attention, dtype=float)
        self.std_attention = None if std_attention is None else np.asarray(std_attention)
        self.name = name

    def plot(self, ax=None, *, style=None, **kwargs):
        """Draw one horizontal bar per feature.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
        style : str, dict or mplhep style, default=None
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.barh`.

        Returns
        -------
        self : AttentionDisplay
        """
        plt = _check_matplotlib(f"{type(self).__name__}.plot")
        with _style_context(style):
            ax = _new_axes(plt, ax)
            pos = np.arange(self.mean_attention.shape[0])
            self.bars_ = ax.barh(pos, self.mean_attention, xerr=self.std_attention, **kwargs)
            ax.set_yticks(pos, [str(f) for f in self.feature_names])
            ax.invert_yaxis()
            ax.set_xlabel("mean attention weight")
            if self.name is not None:
                ax.set_title(self.name)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(
        cls, estimator, X, *, sample_weight=None, name=None, ax=None, style=None, **kwargs
    ):
        """Average ``estimator.attention_weights(X)`` over the rows, and plot it.

        Parameters
        ----------
        estimator : fitted FSEAttentionClassifier
            Any estimator with ``attention_weights(X)`` returning a DataFrame.
        X : array-like or DataFrame of shape (n_samples, n_features)
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights of the mean and standard deviation.
        name : str, default=None
            Axes title; ``None``: the estimator's class name.
        ax, style, **kwargs
            As in :meth:`plot`.

        Returns
        -------
        display : AttentionDisplay
        """
        if not hasattr(estimator, "attention_weights"):
            raise ValueError(
                f"{type(estimator).__name__} has no attention_weights(X) "
                "(an FSEAttentionClassifier has)."
            )
        weights = estimator.attention_weights(X)
        a = np.asarray(weights, dtype=float)
        if sample_weight is None:
            w = np.ones(a.shape[0])
        else:
            w = np.asarray(sample_weight, dtype=float).ravel()
            if w.shape[0] != a.shape[0]:
                raise ValueError(
                    f"Inconsistent numbers of samples: sample_weight has {w.shape[0]}, "
                    f"expected {a.shape[0]}."
                )
            if not np.isfinite(w).all():
                raise ValueError("sample_weight contains NaN or infinite values.")
        if w.sum() <= 0:
            raise ValueError("The total sample_weight must be positive.")
        mean = np.average(a, axis=0, weights=w)
        std = np.sqrt(np.average((a - mean) ** 2, axis=0, weights=w))
        names = getattr(weights, "columns", [f"x{i}" for i in np.arange(a.shape[1])])
        name = type(estimator).__name__ if name is None else name
        disp = cls(feature_names=list(names), mean_attention=mean, std_attention=std, name=name)
        return disp.plot(ax=ax, style=style, **kwargs)
