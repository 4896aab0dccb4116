"""Multimodal network (pure torch).

One branch per modality (a graph network over tracker hits, a CNN over a
cluster-count grid, MLPs for flat variables), fused by multi-head
self-attention over the branch outputs with a learned modality encoding, and
a label head. Domain adaptation adds a domain classifier on the fused
representation (:class:`skhep_ml.nn.AdversarialModel`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from skhep_ml.nn.layers import Standardize
from skhep_ml.nn.layers import activation as make_activation
from skhep_ml.nn.mlp import MLP

__all__ = [
    "ClusterCNN",
    "HitGraphNet",
    "MDANet",
    "ModalityAttentionFusion",
    "hit_graph_adjacency",
]


def hit_graph_adjacency(n_layers: int, n_sides: int, n_tracks: int) -> torch.Tensor:
    """Row-normalised adjacency of the hit graph, one matrix per relation.

    Nodes are (layer, side, track) in C order. Relation 0 links a node to the
    same side and track on the neighbouring layers; relation 1 links the
    tracks of one layer and side to each other.

    Returns
    -------
    Tensor of shape (2, n_nodes, n_nodes)
    """
    n = n_layers * n_sides * n_tracks
    idx = np.arange(n).reshape(n_layers, n_sides, n_tracks)
    adj = np.zeros((2, n, n), dtype=np.float32)
    for layer in range(n_layers):
        for side in range(n_sides):
            for track in range(n_tracks):
                i = idx[layer, side, track]
                for nb in (layer - 1, layer + 1):
                    if 0 <= nb < n_layers:
                        adj[0, i, idx[nb, side, track]] = 1.0
                for other in range(n_tracks):
                    if other != track:
                        adj[1, i, idx[layer, side, other]] = 1.0
    deg = adj.sum(axis=2, keepdims=True)
    adj = np.divide(adj, deg, out=np.zeros_like(adj), where=deg > 0)
    return torch.from_numpy(adj)


class _GraphLayer(nn.Module):
    """Relational message passing: ``h_i + act(W0 h_i + sum_r W_r mean_{j in N_r(i)} h_j)``."""

    def __init__(self, dim, n_relations, activation):
        super().__init__()
        self.self_lin = nn.Linear(dim, dim)
        self.rel_lin = nn.ModuleList(nn.Linear(dim, dim, bias=False) for _ in range(n_relations))
        self.norm = nn.LayerNorm(dim)
        self.act = make_activation(activation)

    def forward(self, h, adj):
        msg = self.self_lin(h)
        for r, lin in enumerate(self.rel_lin):
            msg = msg + lin(torch.matmul(adj[r], h))
        return self.norm(h + self.act(msg))


class HitGraphNet(nn.Module):
    """Graph network over tracker hits, message passing in plain torch.

    The input row holds ``n_layers * n_sides * n_tracks * n_node_features``
    values in that C order (for each layer, each side, each track, the hit
    features). Each node gets its features and a learned embedding of its
    (layer, side, track) identity; ``n_steps`` rounds of relational message
    passing follow (neighbouring layers; the other track), then mean and max
    pooling over nodes.
    """

    def __init__(
        self,
        shape: Sequence[int],
        out_dim: int,
        hidden: int = 32,
        n_steps: int = 2,
        activation: str = "relu",
        mean=None,
        std=None,
    ):
        super().__init__()
        n_layers, n_sides, n_tracks, n_feat = (int(s) for s in shape)
        self.n_nodes = n_layers * n_sides * n_tracks
        self.n_feat = n_feat
        self.scale = Standardize(mean, std) if mean is not None else nn.Identity()
        self.register_buffer("adj", hit_graph_adjacency(n_layers, n_sides, n_tracks))
        self.node_in = nn.Linear(n_feat, hidden)
        self.node_embedding = nn.Parameter(torch.zeros(self.n_nodes, hidden))
        nn.init.normal_(self.node_embedding, std=0.1)
        self.steps = nn.ModuleList(_GraphLayer(hidden, 2, activation) for _ in range(n_steps))
        self.readout = nn.Sequential(nn.Linear(2 * hidden, out_dim), make_activation(activation))

    def node_states(self, x):
        h = self.scale(x).reshape(x.shape[0], self.n_nodes, self.n_feat)
        h = self.node_in(h) + self.node_embedding
        for step in self.steps:
            h = step(h, self.adj)
        return h

    def forward(self, x):
        h = self.node_states(x)
        return self.readout(torch.cat([h.mean(dim=1), h.amax(dim=1)], dim=1))


class ClusterCNN(nn.Module):
    """CNN over a (rows, columns) grid of counts, e.g. layers x sides.

    Two 3x3 convolutions (zero padding, so a grid as small as 1x1 works),
    then a linear map of the flattened feature map.
    """

    def __init__(
        self,
        shape: Sequence[int],
        out_dim: int,
        channels: int = 8,
        activation: str = "relu",
        mean=None,
        std=None,
    ):
        super().__init__()
        self.shape = tuple(int(s) for s in shape)
        self.scale = Standardize(mean, std) if mean is not None else nn.Identity()
        self.conv = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1),
            make_activation(activation),
            nn.Conv2d(channels, channels, 3, padding=1),
            make_activation(activation),
        )
        self.head = nn.Sequential(
            nn.Linear(channels * self.shape[0] * self.shape[1], out_dim),
            make_activation(activation),
        )

    def forward(self, x):
        grid = self.scale(x).reshape(x.shape[0], 1, *self.shape)
        return self.head(self.conv(grid).flatten(1))


class ModalityAttentionFusion(nn.Module):
    """Multi-head self-attention over one token per modality.

    A learned modality (positional) encoding is added to each branch output;
    the tokens attend to each other; the fused vector is the mean of the
    attended tokens. ``weights`` (batch, n_modalities) is the attention each
    modality receives, averaged over heads and query tokens: each row sums
    to one and says how much the event relies on each branch.
    """

    def __init__(self, n_modalities: int, dim: int, n_heads: int = 4, dropout: float = 0.0):
        super().__init__()
        self.modality_encoding = nn.Parameter(torch.zeros(n_modalities, dim))
        nn.init.normal_(self.modality_encoding, std=0.1)
        self.attention = nn.MultiheadAttention(dim, n_heads, dropout=dropout, batch_first=True)
        self.norm = nn.LayerNorm(dim)

    def forward(self, tokens):
        tokens = tokens + self.modality_encoding
        attended, weights = self.attention(
            tokens, tokens, tokens, need_weights=True, average_attn_weights=True
        )
        fused = self.norm(tokens + attended).mean(dim=1)
        return fused, weights.mean(dim=1)


class MDANet(nn.Module):
    """Branches per modality, attention fusion, label head.

    Parameters
    ----------
    modalities : mapping name -> sequence of int
        Column indices of each modality in the input row.
    branches : mapping name -> nn.Module
        One module per modality, mapping its columns to ``embed_dim`` values.
    embed_dim : int
    n_classes : int
    n_heads : int
    head_hidden : sequence of int
        Hidden widths of the label head.
    activation : str
    dropout : float
    domain_features : {"fused", "modalities"}
        What ``forward_features`` gives a domain classifier: the fused
        vector, or the tokens of every modality (concatenated, in modality
        order) for one domain classifier per modality.

    ``forward(x)`` returns ``(class_logits, fused, weights)``.
    """

    def __init__(
        self,
        modalities: Mapping[str, Sequence[int]],
        branches: Mapping[str, nn.Module],
        embed_dim: int,
        n_classes: int,
        n_heads: int = 4,
        head_hidden: Sequence[int] = (32,),
        activation: str = "relu",
        dropout: float = 0.0,
        domain_features: str = "fused",
    ):
        super().__init__()
        if domain_features not in ("fused", "modalities"):
            raise ValueError(
                f"domain_features must be 'fused' or 'modalities'; got {domain_features!r}."
            )
        self.domain_features = domain_features
        self.names = list(modalities)
        for i, name in enumerate(self.names):
            self.register_buffer(
                f"_cols_{i}", torch.as_tensor(list(modalities[name]), dtype=torch.long)
            )
        self.branches = nn.ModuleList(branches[name] for name in self.names)
        self.fusion = ModalityAttentionFusion(len(self.names), embed_dim, n_heads)
        self.label_head = MLP(
            embed_dim, head_hidden, n_classes, activation=activation, dropout=dropout
        )

    def forward(self, x):
        return self.forward_features(x)[0]

    def forward_features(self, x):
        """``((logits, fused, weights), features)``: the fused vector (what the
        head reads), or the modality tokens flattened (``domain_features``)."""
        tokens = torch.stack(
            [
                branch(x.index_select(1, getattr(self, f"_cols_{i}")))
                for i, branch in enumerate(self.branches)
            ],
            dim=1,
        )
        fused, weights = self.fusion(tokens)
        features = fused if self.domain_features == "fused" else tokens.flatten(1)
        return (self.label_head(fused), fused, weights), features
