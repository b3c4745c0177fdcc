"""Transformer-XL layers (Dai et al. 2019, "Transformer-XL: attentive language models beyond a
fixed-length context", section 3), in PyTorch, for sequences of feature vectors (B, C, L).

As Hugging Face's ``TransfoXLModel`` (which the capstone, ../shared/seeds/004_a74bc7f03b11c80e.txt,
used; deprecated there since): each layer is relative multi-head attention, then a position-wise
feed-forward network (Linear-ReLU-Linear with biases, dropout), each with a residual connection
and layer normalisation after it (post-norm, HF's ``pre_lnorm=False``). Attention scores are
Dai et al.'s A^rel (section 3.3): content (a) + content-dependent position (b) + global
content bias u (c) + global position bias v (d), scaled by 1 / sqrt(head dim), with sinusoidal
embeddings of the relative distance i - j projected by a per-layer ``W_{k,R}``; u and v are
learned per layer (HF's ``untie_r=True``). The query/key/value, output and position projections
have no bias; HF's word embedding is absent (the input is the previous layer's features, so
none is scaled by sqrt(d_model)). Dropout on the input, the position embeddings, each
sub-layer's output and the final output, as HF.

Segment-level recurrence (section 3.2): the L positions are cut into segments of
``segment_length``, processed in order; each layer of a segment also attends to the previous
segment's input to that layer (the memory, as long as a segment; no gradient flows into it),
so that the context grows by one segment per layer. ``segment_length`` None: one segment, no
memory.

Choices the capstone leaves open, taken here: attention is causal by default (``causal``:
position i attends to positions <= i of the segment and to the memory), because HF's model,
a language model, always masks the future; ``causal=False`` attends to the whole segment
(relative distances on both sides, their sinusoids of negative arguments). HF's model also
attended to a memory of zeros (``mem_len`` positions) on every call of a fresh batch; those
keys carry no content and are left out here. The segment length is not given (the capstone
called the model once per batch of 125 positions, i.e. one segment): one segment by default.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from models.blocks import Geometry


def sinusoids(distances: torch.Tensor, dim: int) -> torch.Tensor:
    """Vaswani et al.'s sinusoid embedding of each distance: (len(distances), dim), as HF's
    ``PositionalEmbedding`` (sines, then cosines)."""
    inv_freq = 1.0 / (10000 ** (torch.arange(0.0, dim, 2.0, device=distances.device) / dim))
    angles = distances.float()[:, None] * inv_freq[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class RelativeAttention(nn.Module):
    """Multi-head attention with Transformer-XL's relative positions, residual and layer norm."""

    def __init__(self, d_model: int, heads: int, head_dim: int, dropout: float, causal: bool):
        super().__init__()
        self.heads, self.head_dim, self.causal = heads, head_dim, causal
        self.qkv = nn.Linear(d_model, 3 * heads * head_dim, bias=False)
        self.position = nn.Linear(d_model, heads * head_dim, bias=False)            # W_{k,R}
        self.out = nn.Linear(heads * head_dim, d_model, bias=False)
        self.content_bias = nn.Parameter(torch.randn(heads, head_dim) * 0.02)      # u
        self.position_bias = nn.Parameter(torch.randn(heads, head_dim) * 0.02)     # v
        self.drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, h: torch.Tensor, memory: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """``h`` (B, Q, D) the segment, ``memory`` (B, M, D), ``positions`` (M + 2Q - 1, D): the
        embeddings of distances M + Q - 1 down to -(Q - 1)."""
        b, q_len, m_len = h.shape[0], h.shape[1], memory.shape[1]
        q, k, v = self.qkv(torch.cat([memory, h], dim=1)).view(b, m_len + q_len, 3, self.heads, self.head_dim).unbind(2)
        q = q[:, m_len:]
        r = self.position(positions).view(-1, self.heads, self.head_dim)
        content = torch.einsum("bqhd,bkhd->bhqk", q + self.content_bias, k)             # (a) + (c)
        by_distance = torch.einsum("bqhd,rhd->bhqr", q + self.position_bias, r)         # (b) + (d)
        i = torch.arange(q_len, device=h.device)[:, None]
        j = torch.arange(m_len + q_len, device=h.device)[None, :]
        index = (q_len - 1 - i + j).expand(b, self.heads, -1, -1)     # distance (m_len + i) - j
        scores = (content + by_distance.gather(3, index)) / math.sqrt(self.head_dim)
        if self.causal:
            scores = scores.masked_fill(j > m_len + i, float("-inf"))
        attention = self.drop(scores.float().softmax(-1).to(v.dtype))
        mixed = torch.einsum("bhqk,bkhd->bqhd", attention, v).reshape(b, q_len, -1)
        return self.norm(h + self.drop(self.out(mixed)))


class FeedForward(nn.Module):
    """Position-wise Linear-ReLU-Linear with dropout, residual and layer norm (HF's
    ``PositionwiseFF``)."""

    def __init__(self, d_model: int, inner: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_model, inner), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(inner, d_model), nn.Dropout(dropout))
        self.norm = nn.LayerNorm(d_model)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.norm(h + self.net(h))


class TransformerXL(nn.Module):
    """``layers`` Transformer-XL layers over (B, d_model, L) features -> (B, d_model, L)."""

    def __init__(self, d_model: int, layers: int = 6, heads: int = 4, head_dim: int = 16, inner: int = 256,
                 dropout: float = 0.1, causal: bool = True, segment_length: int | None = None):
        super().__init__()
        self.d_model, self.segment_length = d_model, segment_length
        self.attention = nn.ModuleList(RelativeAttention(d_model, heads, head_dim, dropout, causal)
                                       for _ in range(layers))
        self.feed_forward = nn.ModuleList(FeedForward(d_model, inner, dropout) for _ in range(layers))
        self.drop = nn.Dropout(dropout)

    def trace_geometry(self, g: Geometry) -> Geometry:
        return g.whole()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.drop(x.transpose(1, 2))
        memories = [h[:, :0]] * len(self.attention)
        outputs = []
        for segment in h.split(self.segment_length or h.shape[1], dim=1):
            segment, memories = self.segment(segment, memories)
            outputs.append(segment)
        return self.drop(torch.cat(outputs, dim=1)).transpose(1, 2)

    def segment(self, h: torch.Tensor, memories: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """One segment through every layer; returns its output and the next segment's memories
        (each layer's input for this segment, detached)."""
        q_len, m_len = h.shape[1], memories[0].shape[1]
        distances = torch.arange(m_len + q_len - 1, -q_len, -1, device=h.device)
        positions = self.drop(sinusoids(distances, self.d_model).to(h.dtype))
        following = []
        for attention, feed_forward, memory in zip(self.attention, self.feed_forward, memories):
            following.append(h.detach())
            h = feed_forward(attention(h, memory, positions))
        return h, following
