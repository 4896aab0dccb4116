"""Feature Set Embedding + Transformer encoder + attention pooling (pure torch).

The network of the ALICE particle-identification study with missing detector
signals (EPJ C 84 (2024) 691): every present (feature, value) pair of a track
is a token, a missing value (NaN) is no token. Written for speed on small
inputs (d_model 32, about 20 tokens): one fused QKV projection per layer,
masked attention as two ``einsum`` over views of that projection, no
per-token Python loops, and a mask-aware pooling, so that one batch may mix every missingness
pattern (the ALICE code batches one pattern at a time).

The forward pass splits a mixed batch by pattern (``torch.unique`` of the
presence mask) and runs every pattern on its present tokens only, with no
mask: about 20% fewer tokens on typical PID data and none of the masking
work; in inference, a pattern runs through torch's fused encoder-layer
kernel. The result is the masked computation's (a missing token never
reaches a present one); the ONNX export traces the masked graph, which takes
any pattern in one batch. In inference, that split path reads a token's
embedding MLP from piecewise-linear tables (:meth:`FSEAttentionNet.token_tables`):
the same function, a lookup instead of a 128 x 32 product per token.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from skhep_ml.nn.layers import Standardize

__all__ = ["FSEAttentionNet", "FSEEncoderLayer", "missingness_patterns"]

# Score given to missing tokens before the pooling softmax: finite, so that a
# row with no present token gives exp(0) * 0 = 0 weights, never NaN.
_MASKED = -1e9


def _identity(x):
    return x


def _relu(x):
    """ReLU, in place unless autograd records it: ``nn.Linear`` returns a view
    for a 3-D input, and an in-place op on a view makes the backward pass copy
    the whole base (``CopySlices``: about 4% of a training step)."""
    return F.relu(x, inplace=not (x.requires_grad and torch.is_grad_enabled()))


def _tracing():
    """An export traces the masked graph: no data-dependent split by pattern."""
    return torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()


def missingness_patterns(mask):
    """``torch.unique(mask, dim=0, return_inverse=True, return_counts=True)``, fast.

    ``mask`` is a bool [rows, features] presence (or missingness) mask. torch's row-wise ``unique``
    compares rows one pair at a time on a CPU (about 200 ms for 40k tracks,
    a sixth of FSE's inference); each row is read here as one 64-bit
    integer, first feature most significant, so that a 1-D ``unique`` returns
    the same patterns in the same (lexicographic) order, about 10x faster.
    More than 62 features fall back to torch's row-wise ``unique``.
    """
    n_rows, n_features = mask.shape
    if n_features > 62 or n_rows == 0:
        return torch.unique(mask, dim=0, return_inverse=True, return_counts=True)
    bits = torch.pow(2, torch.arange(n_features - 1, -1, -1, device=mask.device))
    keys = (mask.to(torch.int64) * bits).sum(dim=1)
    _, inverse, counts = torch.unique(keys, return_inverse=True, return_counts=True)
    # one row of each pattern (which one does not matter: they are equal)
    rows = torch.zeros_like(counts).scatter_(0, inverse, torch.arange(n_rows, device=mask.device))
    return mask[rows], inverse, counts


#: torch's fused encoder layer (the inference "fast path" of nn.TransformerEncoderLayer).
_FUSED_LAYER = getattr(torch, "_transformer_encoder_layer_fwd", None)


class DropoutBank:
    """Dropout masks cut from a bank of Bernoulli draws (fast on a CPU).

    torch draws about 10 ns per random number on a CPU, so ``nn.Dropout`` on
    the [batch, tokens, 128] feed-forward activations costs more than the
    matrix products of the whole network. Here a bank of ``size`` scaled
    masks (0 or ``1 / (1 - p)``) is drawn from 16-bit integers, four per
    64-bit draw, and every call takes a window at a random offset; the bank
    is redrawn every ``refresh`` calls (and grows to 8 times the largest
    request). Each element is dropped with
    probability ``p`` (to 1 / 65536) and the elements of one call are
    independent; windows of different calls overlap at random positions only,
    which does not matter for regularisation. Every draw comes from torch's
    global generator, so a seeded fit is reproducible.
    """

    def __init__(self, p, size=1 << 16, refresh=256):
        self.p = float(p)
        self.size = int(size)
        self.refresh = int(refresh)
        self._bank = None
        self._calls = 0

    def _redraw(self, n, device):
        size = max(self.size, 8 * n)
        words = torch.empty((size + 3) // 4, dtype=torch.int64, device=device).random_()
        bits = words.view(torch.int16)[:size]
        keep = bits >= round(self.p * 65536) - 32768
        self._bank = keep.to(torch.float32) * (1.0 / (1.0 - self.p))
        self._calls = 0

    def __call__(self, x):
        n = x.numel()
        bank = self._bank
        if (
            bank is None
            or bank.device != x.device
            or bank.numel() < 4 * n
            or (self._calls >= self.refresh)
        ):
            self._redraw(n, x.device)
            bank = self._bank
        self._calls += 1
        start = int(torch.randint(0, bank.numel() - n + 1, ()))
        return x * bank[start : start + n].view(x.shape).to(x.dtype)

    def __getstate__(self):
        return {**self.__dict__, "_bank": None, "_calls": 0}


class FSEEncoderLayer(nn.Module):
    """Post-norm Transformer encoder layer (as ``nn.TransformerEncoderLayer``
    with ``batch_first=True``, ReLU) with a fused QKV projection.

    Dropout acts, as in ``nn.TransformerEncoderLayer``, on the attention
    output, the feed-forward hidden layer and the feed-forward output, with
    the fast masks of :class:`DropoutBank`; the attention weights themselves
    are not dropped (one more random mask per layer, on [B, heads, T, T],
    for little regularisation with about 20 tokens).

    Parameters
    ----------
    d_model : int
    n_heads : int
    dim_feedforward : int
    dropout : float
    """

    def __init__(self, d_model=32, n_heads=2, dim_feedforward=128, dropout=0.1, bank=None):
        super().__init__()
        self.drop = bank if bank is not None else DropoutBank(dropout)
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.dropout = dropout
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.ff1 = nn.Linear(d_model, dim_feedforward)
        self.ff2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(self, x, attn_mask=None):
        """``x``: [B, T, d]; ``attn_mask``: bool [B, 1, T, T], True = may attend, or
        None: every token attends to every token."""
        B, T, d = x.shape
        h = self.n_heads
        if attn_mask is None and _FUSED_LAYER is not None and not _needs_graph(self, x):
            try:
                return self._fused(x)
            except (TypeError, RuntimeError):  # a private op: another torch may differ
                pass
        # q, k, v stay views of the fused projection [B, T, h, dh]: einsum over
        # those strides avoids the head-major copies that
        # scaled_dot_product_attention needs (25-30% of the whole step at T ~ 20)
        q, k, v = self.qkv(x).view(B, T, 3, h, d // h).unbind(2)
        s = torch.einsum("bihd,bjhd->bhij", q, k * (d // h) ** -0.5)
        if attn_mask is not None:
            s = s.masked_fill_(~attn_mask, _MASKED)
        p = torch.softmax(s, dim=-1)
        a = torch.einsum("bhij,bjhd->bihd", p, v).reshape(B, T, d)
        drop = self.drop if (self.training and self.dropout > 0) else _identity
        x = self.norm1(x + drop(self.out(a)))
        f = self.ff2(drop(_relu(self.ff1(x))))
        return self.norm2(x + drop(f))

    def _fused(self, x):
        # the qkv and feed-forward weights have nn.MultiheadAttention's layout
        return _FUSED_LAYER(
            x,
            x.shape[-1],
            self.n_heads,
            self.qkv.weight,
            self.qkv.bias,
            self.out.weight,
            self.out.bias,
            False,  # ReLU, not GELU
            False,  # post-norm
            self.norm1.eps,
            self.norm1.weight,
            self.norm1.bias,
            self.norm2.weight,
            self.norm2.bias,
            self.ff1.weight,
            self.ff1.bias,
            self.ff2.weight,
            self.ff2.bias,
            None,
            None,
        )


def _needs_graph(module, x):
    """Whether autograd, dropout or a tracer must see the plain operations."""
    return module.training or (torch.is_grad_enabled() and x.requires_grad) or _tracing()


class FSEAttentionNet(nn.Module):
    """Set-of-tokens classifier for inputs with missing values (NaN).

    ``x`` [B, n_features] raw values, NaN = missing:

    1. standardise with the stored per-feature ``mean`` / ``std``;
    2. the presence mask is taken, then NaN is replaced by 0 so that no NaN
       reaches a matrix product (the exported graph is NaN-safe);
    3. token of feature ``j`` with value ``v``:
       ``Linear(ReLU(E[j] + v * w), d_model)``, which is exactly the seed's MLP
       over ``[one-hot(j) ‖ v]`` (n_features + 1 -> ``embed_hidden`` -> d_model)
       without building the one-hot (in inference, per pattern, read from
       :meth:`token_tables`);
    4. ``n_layers`` encoder layers where a token attends to the present
       tokens (and to itself, so that no attention row is empty);
    5. attention pooling: an MLP d -> ``pool_hidden`` -> d scores every token
       per channel, softmax over the present tokens, weighted sum; a row with
       no present token pools to the zero vector (a finite, constant output);
    6. a head d -> ``head_hidden`` -> 1 per output (``separate_heads=True``,
       one binary head per species as in the paper), or one head
       d -> ``head_hidden`` -> ``n_outputs``.

    Parameters
    ----------
    n_features : int
    n_outputs : int
    d_model, n_heads, n_layers, dim_feedforward : int
    embed_hidden, pool_hidden, head_hidden : int
    dropout : float
    separate_heads : bool
    mean, std : array-like of shape (n_features,) or None
        Input standardisation stored in the network.

    Returns (forward)
    -----------------
    logits : Tensor [B, n_outputs]
    """

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
        separate_heads=True,
        mean=None,
        std=None,
    ):
        super().__init__()
        self.n_features = n_features
        self.n_outputs = n_outputs
        self.separate_heads = separate_heads
        self.scale = Standardize(mean, std) if mean is not None else nn.Identity()
        # [one-hot(j) ‖ v] @ W1 + b1 == (W1[j] + b1) + v * w: E[j] holds W1's one-hot
        # row plus the bias (every token has exactly one feature id), so one fused
        # multiply-add builds the hidden layer of every token.
        self.feature_embedding = nn.Parameter(torch.empty(n_features, embed_hidden))
        self.value_weight = nn.Parameter(torch.empty(embed_hidden))
        bound = (n_features + 1) ** -0.5  # nn.Linear(n_features + 1, embed_hidden) init
        for p in (self.feature_embedding, self.value_weight):
            nn.init.uniform_(p, -bound, bound)
        self.embed_out = nn.Linear(embed_hidden, d_model)
        bank = DropoutBank(dropout) if dropout > 0 else None  # one bank for all layers
        self.layers = nn.ModuleList(
            FSEEncoderLayer(d_model, n_heads, dim_feedforward, dropout, bank)
            for _ in range(n_layers)
        )
        self.pool = nn.Sequential(
            nn.Linear(d_model, pool_hidden), nn.ReLU(), nn.Linear(pool_hidden, d_model)
        )
        if separate_heads:
            self.head_hidden = nn.Linear(d_model, head_hidden * n_outputs)
            # one 64 -> 1 output layer per species: block-diagonal, as a batched product
            self.head_weight = nn.Parameter(torch.empty(n_outputs, head_hidden))
            self.head_bias = nn.Parameter(torch.empty(n_outputs))
            b = head_hidden**-0.5
            nn.init.uniform_(self.head_weight, -b, b)
            nn.init.uniform_(self.head_bias, -b, b)
            self.head = None
        else:
            self.head = nn.Sequential(
                nn.Linear(d_model, head_hidden), nn.ReLU(), nn.Linear(head_hidden, n_outputs)
            )
        self.register_buffer("_eye", torch.eye(n_features, dtype=torch.bool), persistent=False)

    #: Rows per pattern group in inference: [rows, tokens, 128] intermediates
    #: stay in cache (benchmarks/fse_speed.py).
    group_rows = 256

    def _encode(self, x):
        """Token states [B, T, d] and presence mask [B, T] of raw input ``x``."""
        present = ~torch.isnan(x)
        v = torch.where(present, self.scale(x), torch.zeros_like(x))
        h = self._tokens(v, slice(None))
        attn_mask = (present.unsqueeze(1) | self._eye).unsqueeze(1)  # [B, 1, T, T]
        for layer in self.layers:
            h = layer(h, attn_mask)
        return h, present

    def _pooled(self, x):
        """Pooled vectors [B, d] of rows that may mix patterns (masked attention)."""
        h, present = self._encode(x)
        return (self._weights(h, present) * h).sum(dim=1)

    def token_tables(self):
        """The token embedding as a piecewise-linear function of the value.

        The token of feature ``j`` with standardised value ``v`` is
        ``embed_out(relu(E[j] + v * w))``: hidden unit ``k`` is on for ``v`` on
        one side of its breakpoint ``-E[j, k] / w[k]``, so between two
        consecutive breakpoints of feature ``j`` the token is
        ``offset + v * slope``. Returns the sorted breakpoints [n_features,
        embed_hidden] and the offsets and slopes of the ``embed_hidden + 1``
        segments, flattened to [n_features * (embed_hidden + 1), d_model]
        (segment ``s`` of feature ``j`` in row ``j * (embed_hidden + 1) + s``).
        Summed in float64 from the weights, differentiable. A token then costs
        a lookup and a multiply-add instead of the ``embed_hidden x d_model``
        product: inference reads them (built once per set of weights, about
        4 ms); training keeps the MLP, which costs about what rebuilding the
        tables at every step would.
        """
        E, w = self.feature_embedding.double(), self.value_weight.double()
        W, b = self.embed_out.weight.double(), self.embed_out.bias.double()
        with torch.no_grad():
            # unit k turns on (w > 0) or off (w < 0) as v crosses -E/w upwards;
            # w = 0: on or off for every value, its breakpoint at +inf
            nonzero = w != 0
            t = torch.where(nonzero, -E / torch.where(nonzero, w, 1.0), torch.inf)
            breakpoints, order = torch.sort(t, dim=1)
            start = ((w < 0) | (~nonzero & (E > 0))).double()  # on below every breakpoint
            sign = torch.sign(w)[order]  # [n, H] in crossing order
        offset_terms = E.unsqueeze(-1) * W.T  # [n, H, d]: E[j, k] * W[:, k]
        slope_terms = (w.unsqueeze(-1) * W.T).expand_as(offset_terms)
        tables = []
        for terms in (offset_terms, slope_terms):
            first = (start.unsqueeze(-1) * terms).sum(1, keepdim=True)  # [n, 1, d]
            steps = terms.gather(1, order.unsqueeze(-1).expand_as(terms)) * sign.unsqueeze(-1)
            tables.append(torch.cat([first, first + steps.cumsum(1)], 1).flatten(0, 1))
        offsets, slopes = tables
        dtype = self.feature_embedding.dtype
        return breakpoints.to(dtype), (offsets + b).to(dtype), slopes.to(dtype)

    def _inference_tables(self):
        """:meth:`token_tables` of the current weights, kept until they change."""
        # compared by value: fused optimisers update in place without bumping
        # the tensors' version counters (6.6k numbers, microseconds)
        params = (self.feature_embedding, self.value_weight, *self.embed_out.parameters())
        cached = self.__dict__.get("_table_cache")
        if cached is None or not all(
            a.dtype == b.dtype and a.device == b.device and torch.equal(a, b)
            for a, b in zip(cached[0], params, strict=True)
        ):
            with torch.no_grad():
                key = tuple(p.detach().clone() for p in params)
                cached = self.__dict__["_table_cache"] = (key, self.token_tables())
        return cached[1]

    def __getstate__(self):
        return {k: v for k, v in super().__getstate__().items() if k != "_table_cache"}

    def _tokens(self, v, cols, tables=None):
        """Token states [B, T, d] of standardised values ``v`` [B, T] of features ``cols``
        (indices, or ``slice(None)`` for all with the MLP)."""
        if tables is None:  # the MLP (training, the masked path, the export)
            h = torch.addcmul(self.feature_embedding[cols], v.unsqueeze(-1), self.value_weight)
            return self.embed_out(F.relu(h, inplace=True))
        breakpoints, offsets, slopes = tables
        segment = torch.searchsorted(breakpoints[cols], v.T.contiguous()).T
        row = segment + cols * (breakpoints.shape[1] + 1)
        return torch.addcmul(F.embedding(row, offsets), v.unsqueeze(-1), F.embedding(row, slopes))

    def _pooled_one_pattern(self, x, cols, tables=None):
        """Pooled vectors [B, d] of rows whose present features are ``cols``: no mask."""
        h = self._tokens(self.scale(x)[:, cols], cols, tables)
        for layer in self.layers:
            h = layer(h)
        return (torch.softmax(self.pool(h), dim=1) * h).sum(dim=1)

    def _pooled_by_pattern(self, x):
        """As ``_pooled``, one missingness pattern at a time (same result, less work)."""
        present = ~torch.isnan(x)
        patterns, inverse, counts = missingness_patterns(present)
        # training: one forward per pattern; inference: cache-sized groups
        step = len(x) if torch.is_grad_enabled() else self.group_rows
        tables = None if torch.is_grad_enabled() else self._inference_tables()
        if len(patterns) == 1 and x.shape[0] <= step:
            cols = torch.nonzero(patterns[0])[:, 0]
            return self._pooled_one_pattern(x, cols, tables) if len(cols) else self._pooled(x)
        order = torch.argsort(inverse, stable=True)
        parts = []
        for pattern, rows in zip(patterns, torch.split(order, counts.tolist()), strict=True):
            cols = torch.nonzero(pattern)[:, 0]
            for sub in torch.split(rows, step):
                xs = x[sub]
                # a row with no present feature: the masked path's constant output
                parts.append(
                    self._pooled_one_pattern(xs, cols, tables) if len(cols) else self._pooled(xs)
                )
        z = torch.cat(parts)
        return torch.empty_like(z).index_copy_(0, order, z)

    def pooling_weights(self, x):
        """Per-token, per-channel pooling weights [B, T, d] (0 for missing tokens)."""
        h, present = self._encode(x)
        return self._weights(h, present), h

    def _weights(self, h, present):
        s = self.pool(h).masked_fill(~present.unsqueeze(-1), _MASKED)
        e = torch.exp(s - s.amax(dim=1, keepdim=True)) * present.unsqueeze(-1).to(h.dtype)
        return e / e.sum(dim=1, keepdim=True).clamp_min(torch.finfo(h.dtype).tiny)

    def forward(self, x):
        return self.forward_features(x)[0]

    def forward_features(self, x):
        """``(logits, pooled)``: the pooled token vector [B, d] is what the heads read."""
        z = self._pooled(x) if (_tracing() or not len(x)) else self._pooled_by_pattern(x)
        return self._head(z), z

    def _head(self, z):
        if self.head is not None:
            return self.head(z)
        hid = F.relu(self.head_hidden(z), inplace=True).view(z.shape[0], self.n_outputs, -1)
        return (hid * self.head_weight).sum(-1) + self.head_bias
