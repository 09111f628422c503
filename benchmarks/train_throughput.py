"""Training throughput of transformer_spec.implementations.pytorch.Transformer against torch.nn.Transformer.

Both models get the same sizes, batch, tied embedding/generator, sinusoidal PE,
label-smoothed loss, Adam and Eq. (3) schedule; their timed steps alternate in
one run so machine noise hits both alike.  Tokens/s counts source plus target
positions (padding included) per second.  The last line printed is
``ratio_vs_torch_nn_transformer=<ours / torch>``.

Notes: torch.nn.Transformer also applies dropout to the attention weights and
adds a final LayerNorm to each stack (its defaults); ours does what §5.4 says.

    python benchmarks/train_throughput.py               # small config on CPU
    python benchmarks/train_throughput.py --config base # base model, bf16 autocast (default on CUDA)
"""
from __future__ import annotations

import argparse
import contextlib
import math
import time
from typing import Callable

import torch
from torch import Tensor, nn

from transformer_spec.reference.config import TransformerConfig
from transformer_spec.implementations.pytorch import Transformer, label_smoothed_loss, make_optimizer, noam_scheduler
from transformer_spec.implementations.pytorch.functional import sinusoidal_encoding

CONFIGS = {
    "small": (TransformerConfig(layers=2, d_model=128, heads=4, d_k=32, d_v=32, d_ff=512, vocab=1000), 32, 24),
    "base": (TransformerConfig(), 128, 64),
}


class TorchBaseline(nn.Module):
    """torch.nn.Transformer plus a tied embedding/generator and sinusoidal PE, sized like ``config``."""

    def __init__(self, config: TransformerConfig, device: torch.device) -> None:
        super().__init__()
        c = config
        self.config = c
        self.core = nn.Transformer(c.d_model, c.heads, c.layers, c.layers, c.d_ff, c.dropout, batch_first=True,
                                   device=device)
        self.embedding = nn.Embedding(c.vocab, c.d_model, device=device)
        self.register_buffer("pe", sinusoidal_encoding(1024, c.d_model, device), persistent=False)
        self.drop = nn.Dropout(c.dropout)

    def _embed(self, tokens: Tensor) -> Tensor:
        return self.drop(self.embedding(tokens) * math.sqrt(self.config.d_model) + self.pe[: tokens.shape[1]])

    def forward(self, src: Tensor, tgt: Tensor) -> Tensor:
        pad = self.config.pad_id
        causal = torch.ones(tgt.shape[1], tgt.shape[1], dtype=torch.bool, device=tgt.device).triu(1)  # True = masked
        out = self.core(self._embed(src), self._embed(tgt), tgt_mask=causal, src_key_padding_mask=src == pad,
                        tgt_key_padding_mask=tgt == pad, memory_key_padding_mask=src == pad)
        return out @ self.embedding.weight.T  # (batch, seq_tgt, d_model) @ (d_model, vocab)


def make_batch(config: TransformerConfig, batch: int, seq: int, device: torch.device, seed: int = 0) -> tuple[Tensor, ...]:
    """Random (src, tgt_in, tgt_out) with a quarter of each row's tail padded on some rows."""
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(1, config.vocab, (3, batch, seq), generator=g)
    lengths = torch.randint(3 * seq // 4, seq + 1, (3, batch, 1), generator=g)
    tokens[torch.arange(seq)[None, None, :] >= lengths] = config.pad_id  # (3, batch, seq)
    tokens[:, :, 0] = torch.where(tokens[:, :, 0] == config.pad_id, 1, tokens[:, :, 0])
    return tuple(t.to(device) for t in tokens)


def step_fn(model: nn.Module, config: TransformerConfig, batch: tuple[Tensor, ...],
            amp: Callable[[], contextlib.AbstractContextManager]) -> Callable[[], None]:
    """One training step (forward, loss, backward, Adam, schedule) of ``model`` on a fixed batch."""
    optimizer = make_optimizer(model.parameters())
    scheduler = noam_scheduler(optimizer, config.d_model, config.warmup_steps)
    src, tgt_in, tgt_out = batch

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with amp():
            logits = model(src, tgt_in)
        label_smoothed_loss(logits, tgt_out, config.label_smoothing, config.pad_id).backward()
        optimizer.step()
        scheduler.step()
    return step


def timed(step: Callable[[], None], n: int, device: torch.device) -> float:
    """Seconds for ``n`` steps."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    start = time.perf_counter()
    for _ in range(n):
        step()
    sync()
    return time.perf_counter() - start


def train_flops(config: TransformerConfig, batch: int, seq: int) -> float:
    """Matrix-multiply FLOPs of one training step (3x forward, dense attention) at these sizes."""
    c = config
    proj = c.d_model * (2 * c.heads * c.d_k + c.heads * c.d_v) + c.heads * c.d_v * c.d_model  # MACs per token
    scores = seq * c.heads * (c.d_k + c.d_v)  # MACs per query token
    ffn = 2 * c.d_model * c.d_ff
    enc = c.layers * (proj + scores + ffn)
    dec = c.layers * (2 * proj + 2 * scores + ffn) + c.d_model * c.vocab
    return 3 * 2 * batch * seq * (enc + dec)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=sorted(CONFIGS), default=None, help="default: base on CUDA, else small")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=None, help="sentences per batch (default: the config's)")
    parser.add_argument("--seq", type=int, default=None, help="tokens per sentence (default: the config's)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per model per round")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="accelerator peak (H100/H200 bf16 dense)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    name = args.config or ("base" if device.type == "cuda" else "small")
    config, batch, seq = CONFIGS[name]
    batch, seq = args.batch or batch, args.seq or seq
    bf16 = device.type == "cuda"
    amp = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext
    data = make_batch(config, batch, seq, device)
    models = {"ours": Transformer(config, device=device), "torch.nn.Transformer": TorchBaseline(config, device)}
    steps = {k: step_fn(m.train(), config, data, amp) for k, m in models.items()}
    seconds = dict.fromkeys(steps, 0.0)
    for step in steps.values():
        timed(step, 3, device)  # warm-up
    for _ in range(args.rounds):
        for k, step in steps.items():
            seconds[k] += timed(step, args.steps, device)
    tokens = 2 * batch * seq * args.steps * args.rounds
    print(f"config={name} device={device} batch={batch}x{seq} bf16_autocast={bf16} threads={torch.get_num_threads()}")
    for k, s in seconds.items():
        line = f"{k}: {tokens / s:,.0f} tokens/s"
        if device.type == "cuda":
            mfu = train_flops(config, batch, seq) * args.steps * args.rounds / s / (args.peak_tflops * 1e12)
            line += f"  MFU={mfu:.1%}"
        print(line)
    print(f"ratio_vs_torch_nn_transformer={seconds['torch.nn.Transformer'] / seconds['ours']:.3f}")


if __name__ == "__main__":
    main()
