"""Normalizing-flow density of the features, optionally given context columns (pure torch).

The flow is a zuko flow (`zuko <https://github.com/probabilists/zuko>`_):
a stack of masked autoregressive transforms, either affine (MAF,
arXiv:1705.07057) or monotonic rational-quadratic splines (NSF,
arXiv:1906.04032), whose conditioner networks also read the context. The
input of :class:`DensityFlow` is one matrix in which the columns
``context_columns`` are the context (e.g. the dijet mass of a bump hunt): the
flow models ``p(x | context)`` of the other columns, and ``forward`` returns
the log-density of each row. One input matrix keeps the module exportable and
the batch machinery of the estimators unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import zuko
from torch import nn

__all__ = ["DensityFlow"]

_FLOWS = {"nsf": zuko.flows.NSF, "maf": zuko.flows.MAF}


class DensityFlow(nn.Module):
    """Log-density of rows under a masked autoregressive flow.

    Parameters
    ----------
    n_features : int
        Columns of the input, context included.
    context_columns : sequence of int
        Positions of the context columns in the input; empty for an
        unconditional density.
    flow : {"nsf", "maf"}
        Spline (NSF) or affine (MAF) autoregressive transforms.
    n_transforms : int
        Number of autoregressive transforms (the feature order is reversed
        between them).
    hidden_layers : sequence of int
        Hidden widths of each transform's masked conditioner network.
    bins : int
        Spline bins of each NSF transform (ignored for MAF). The splines act
        on [-5, 5] and are the identity outside: inputs should be scaled to
        about unit width.
    """

    def __init__(
        self,
        n_features: int,
        context_columns: Sequence[int] = (),
        flow: str = "nsf",
        n_transforms: int = 4,
        hidden_layers: Sequence[int] = (64, 64),
        bins: int = 8,
    ):
        super().__init__()
        if flow not in _FLOWS:
            raise ValueError(f"flow must be one of {sorted(_FLOWS)}, got {flow!r}.")
        context = sorted({int(c) for c in context_columns})
        values = [j for j in range(int(n_features)) if j not in context]
        if not values or (context and not 0 <= context[0] <= context[-1] < n_features):
            raise ValueError(
                f"context_columns={list(context_columns)} must be positions in "
                f"range({n_features}) that leave at least one column to model."
            )
        self.n_context = len(context)
        self.n_modelled = len(values)
        self.register_buffer("context_index", torch.tensor(context, dtype=torch.long))
        self.register_buffer("value_index", torch.tensor(values, dtype=torch.long))
        kwargs = {"bins": int(bins)} if flow == "nsf" else {}
        self.flow = _FLOWS[flow](
            self.n_modelled,
            self.n_context,
            transforms=int(n_transforms),
            hidden_features=[int(h) for h in hidden_layers],
            **kwargs,
        )

    def split(self, x):
        """(modelled columns, context columns or None)."""
        if self.n_context == 0:
            return x, None
        return x[..., self.value_index], x[..., self.context_index]

    def forward(self, x):
        values, context = self.split(x)
        return self.flow(context).log_prob(values)

    @torch.no_grad()
    def sample(self, n: int, context=None):
        """``n`` draws of the modelled columns, or one per row of ``context`` ``(m, n_context)``."""
        if context is None:
            return self.flow().sample((n,))
        return self.flow(context).sample()
