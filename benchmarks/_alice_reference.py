"""The reference of the `fse_speed` task: the ALICE attention model from stock torch modules.

What a user would otherwise run: the architecture as the ALICE PID code
(github.com/mytkom/AlicePIDML, ``src/pdi/models.py``, ``AttentionModel``)
builds it, written here from its description with the sizes of the default
:class:`skhep_ml.FSEAttentionClassifier` so that both do the same arithmetic:

- tokens: ``[one-hot(feature index) ‖ value]`` of the present features of a
  batch whose rows all share one missingness pattern (no mask is needed);
- embedding MLP ``n + 1 -> 128 -> 32``, dropout;
- ``nn.TransformerEncoder(nn.TransformerEncoderLayer(32, 2, 128, dropout,
  ReLU, batch_first=True), 2, enable_nested_tensor=False)``: in eval mode
  under ``inference_mode`` torch runs its fused encoder kernels (the
  "fast path");
- attention pooling: MLP ``32 -> 64 -> 32`` scoring every token per
  channel, softmax over the tokens, weighted sum;
- one head ``32 -> 64 -> 1`` per species (ALICE trains one model per
  species; here they share the rest, as in
  :class:`~skhep_ml.FSEAttentionClassifier`), computed as ours is: one
  ``Linear(32, 64 * n_outputs)`` and a per-species weighted sum.

Data handling as ALICE's ``CombinedDataLoader``: the rows are grouped by
missingness pattern beforehand (standardised, as ALICE's data preparation
does; not timed), every epoch shuffles each group and draws the groups'
batches in random order. Trained with Adam on the binary cross-entropy of
every species head, as :class:`~skhep_ml.FSEAttentionClassifier` with
``multi_class="ovr"``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "AliceAttentionReference",
    "group_by_pattern",
    "predict_grouped",
    "split_batches",
    "train_grouped",
]


class AliceAttentionReference(nn.Module):
    """ALICE's AttentionModel (stock torch modules) for batches of one missingness pattern."""

    def __init__(
        self,
        n_features,
        n_outputs,
        *,
        d_model=32,
        n_heads=2,
        n_layers=2,
        dim_feedforward=128,
        embed_hidden=128,
        pool_hidden=64,
        head_hidden=64,
        dropout=0.1,
    ):
        super().__init__()
        self.n_features = n_features
        self.embed = nn.Sequential(
            nn.Linear(n_features + 1, embed_hidden), nn.ReLU(), nn.Linear(embed_hidden, d_model)
        )
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(
            d_model, n_heads, dim_feedforward, dropout, nn.ReLU(), batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.pool = nn.Sequential(
            nn.Linear(d_model, pool_hidden), nn.ReLU(), nn.Linear(pool_hidden, d_model)
        )
        self.n_outputs = n_outputs
        self.head_hidden = nn.Linear(d_model, head_hidden * n_outputs)
        self.head_weight = nn.Parameter(torch.empty(n_outputs, head_hidden))
        self.head_bias = nn.Parameter(torch.empty(n_outputs))
        bound = head_hidden**-0.5  # nn.Linear(head_hidden, 1)'s init, per species
        nn.init.uniform_(self.head_weight, -bound, bound)
        nn.init.uniform_(self.head_bias, -bound, bound)

    def tokens(self, x):
        """``[B, T, n + 1]`` tokens of a batch whose rows share one pattern (NaN = missing)."""
        cols = torch.nonzero(~torch.isnan(x[0]))[:, 0]
        one_hot = F.one_hot(cols, self.n_features).to(x.dtype)  # [T, n]
        values = x[:, cols].unsqueeze(-1)  # [B, T, 1]
        return torch.cat([one_hot.expand(x.shape[0], -1, -1), values], dim=-1)

    def forward(self, x):
        h = self.encoder(self.drop(self.embed(self.tokens(x))))
        weights = torch.softmax(self.pool(h), dim=1)  # over the tokens, per channel
        z = (weights * h).sum(dim=1)
        hidden = F.relu(self.head_hidden(z)).view(z.shape[0], self.n_outputs, -1)
        return (hidden * self.head_weight).sum(-1) + self.head_bias


def group_by_pattern(X, y=None, mean=None, std=None):
    """Standardised rows grouped by missingness pattern: a list of ``(rows, X_g, y_g)``.

    ``rows`` are the group's row indices in ``X``; ``y_g`` the one-hot
    (float) targets when ``y`` (class indices) is given.
    """
    X = np.asarray(X, dtype=np.float32)
    if mean is not None:
        X = (X - mean) / std
    keys = np.packbits(np.isnan(X), axis=1)
    _, inverse = np.unique(keys, axis=0, return_inverse=True)
    groups = []
    for g in range(inverse.max() + 1):
        rows = np.flatnonzero(inverse == g)
        yg = None
        if y is not None:
            yg = torch.as_tensor(np.eye(int(y.max()) + 1, dtype=np.float32)[y[rows]])
        groups.append((rows, torch.as_tensor(X[rows]), yg))
    return groups


def train_grouped(module, groups, *, epochs, batch_size, lr, seed=0):
    """Adam on the binary cross-entropy of every head; batches of one pattern in random order."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(module.parameters(), lr=lr)
    module.train()
    for _ in range(epochs):
        batches = []
        for _, Xg, yg in groups:
            order = torch.randperm(len(Xg), generator=gen)
            batches += [(Xg, yg, order[i : i + batch_size]) for i in range(0, len(Xg), batch_size)]
        for k in torch.randperm(len(batches), generator=gen).tolist():
            Xg, yg, idx = batches[k]
            loss = F.binary_cross_entropy_with_logits(module(Xg[idx]), yg[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return module


def split_batches(groups, batch_size):
    """Pre-grouped inference batches: a list of ``(rows, X_batch)``."""
    return [
        (rows[i : i + batch_size], Xg[i : i + batch_size])
        for rows, Xg, _ in groups
        for i in range(0, len(Xg), batch_size)
    ]


def predict_grouped(module, batches):
    """Eval-mode forward (torch's fused encoder path) of every pre-grouped batch."""
    module.eval()
    with torch.inference_mode():
        return [module(xb) for _, xb in batches]
