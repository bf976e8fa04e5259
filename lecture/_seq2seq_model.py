"""GRU encoder-decoder (Sutskever et al. 2014, Cho et al. 2014) with or without Luong attention.

Encoder: x_1..x_S -> h_1..h_S (GRU); its last state h_S starts the decoder (the whole source in one vector).
Decoder state s_t = GRU(s_{t-1}, embed(y_{t-1})). Output:

- without attention: p(y_t) = softmax(W_o tanh(W_c s_t));
- with attention (Luong, Pham & Manning 2015, "global" attention with the "general" score, eq. 5, 7, 8):
  a_t(i) = softmax_i(s_t^T W_a h_i) over the source positions (padding masked), c_t = sum_i a_t(i) h_i,
  p(y_t) = softmax(W_o tanh(W_c [c_t; s_t])).

Deviation from the paper: no "input feeding" (the attentional vector is not fed to the next step), so with
teacher forcing the decoder GRU runs over the whole target in one call and attention for every step is
one batched matrix product — several times faster on a CPU than a Python loop over the steps.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from tenuki.lecture._seq2seq_data import BOS, EOS, PAD


class Seq2Seq(nn.Module):
    """Encoder-decoder over token ids; ``attention`` switches the Luong attention on."""

    def __init__(self, src_vocab: int, tgt_vocab: int, embed_dim: int, hidden: int, attention: bool,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.attention = attention
        self.src_embed = nn.Embedding(src_vocab, embed_dim, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(tgt_vocab, embed_dim, padding_idx=PAD)
        self.encoder = nn.GRU(embed_dim, hidden, batch_first=True)
        self.decoder = nn.GRU(embed_dim, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)
        if attention:
            self.score = nn.Linear(hidden, hidden, bias=False)  # W_a
        self.combine = nn.Linear(2 * hidden if attention else hidden, hidden)  # W_c
        self.out = nn.Linear(hidden, tgt_vocab)  # W_o

    def encode(self, src: torch.Tensor, src_len: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """src [B, S] -> (encoder states [B, S, H] (zero at padding), last real state [1, B, H])."""
        packed = pack_padded_sequence(self.drop(self.src_embed(src)), src_len.cpu(), batch_first=True,
                                      enforce_sorted=False)
        states, last = self.encoder(packed)
        states, _ = pad_packed_sequence(states, batch_first=True, total_length=src.shape[1])
        return states, last

    def _output(self, dec: torch.Tensor, enc: torch.Tensor, src_mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """dec [B, T, H], enc [B, S, H], src_mask [B, S] (True at real tokens) -> (logits [B, T, V],
        attention weights [B, T, S] or None)."""
        if not self.attention:
            return self.out(self.drop(torch.tanh(self.combine(dec)))), None
        scores = torch.bmm(self.score(dec), enc.transpose(1, 2))  # s_t^T W_a h_i, [B, T, S]
        scores = scores.masked_fill(~src_mask[:, None, :], float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        context = torch.bmm(weights, enc)  # c_t, [B, T, H]
        hidden = torch.tanh(self.combine(torch.cat([context, dec], dim=-1)))
        return self.out(self.drop(hidden)), weights

    def forward(self, src: torch.Tensor, src_len: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: tgt_in [B, T] (BOS y_1 .. y_{T-1}) -> logits [B, T, V] for y_1 .. y_T."""
        enc, last = self.encode(src, src_len)
        dec, _ = self.decoder(self.drop(self.tgt_embed(tgt_in)), last)
        logits, _ = self._output(dec, enc, src != PAD)
        return logits

    @torch.no_grad()
    def greedy(self, src: torch.Tensor, src_len: torch.Tensor, max_len: int
               ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Greedy decoding: (ids [B, <=max_len], attention weights [B, T, S] or None); rows end at EOS."""
        enc, state = self.encode(src, src_len)
        mask = src != PAD
        token = torch.full((src.shape[0], 1), BOS, dtype=torch.long)
        ids, weights = [], []
        done = torch.zeros(src.shape[0], dtype=torch.bool)
        for _ in range(max_len):
            dec, state = self.decoder(self.tgt_embed(token), state)
            logits, attn = self._output(dec, enc, mask)
            token = logits.argmax(-1)  # [B, 1]
            ids.append(token)
            if attn is not None:
                weights.append(attn)
            done |= token[:, 0] == EOS
            if bool(done.all()):
                break
        return torch.cat(ids, 1), (torch.cat(weights, 1) if weights else None)
