#!/usr/bin/python3
"""PyTorch side of `npm run bench -- engine` (TUNESCOPE_BENCH_TORCH=1): one DistilBERT-base-shape training step
(forward + backward + AdamW, dropout on, random weights) in fp32 and under torch.autocast("cpu", dtype=torch.bfloat16)
— HF Trainer's --bf16 on CPU — at the given batch × seq, printing one line per mode with min and median ms.

Debian's python3-torch has no transformers, so the model is HF's DistilBertForSequenceClassification written out
(same modules and shapes: 6 post-LN blocks, dim 768, 12 heads, hidden 3072, vocab 30522).
Usage: bench/torch_step.py THREADS STEPS B S [B S ...]
"""
import math
import sys
import time

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, d, h, hid):
        super().__init__()
        self.h = h
        self.q_lin, self.k_lin, self.v_lin, self.out_lin = (nn.Linear(d, d) for _ in range(4))
        self.sa_layer_norm = nn.LayerNorm(d, eps=1e-12)
        self.lin1, self.lin2 = nn.Linear(d, hid), nn.Linear(hid, d)
        self.output_layer_norm = nn.LayerNorm(d, eps=1e-12)
        self.drop = nn.Dropout(0.1)

    def forward(self, x, mask):
        b, s, d = x.shape
        dh = d // self.h
        split = lambda t: t.view(b, s, self.h, dh).transpose(1, 2)
        q = split(self.q_lin(x)) / math.sqrt(dh)
        k, v = split(self.k_lin(x)), split(self.v_lin(x))
        scores = (q @ k.transpose(2, 3)).masked_fill(mask, torch.finfo(torch.float32).min)
        w = self.drop(torch.softmax(scores, dim=-1))
        ctx = (w @ v).transpose(1, 2).reshape(b, s, d)
        x = self.sa_layer_norm(self.out_lin(ctx) + x)
        f = self.drop(self.lin2(nn.functional.gelu(self.lin1(x))))
        return self.output_layer_norm(f + x)


class DistilBert(nn.Module):
    def __init__(self, vocab=30522, d=768, layers=6, h=12, hid=3072, labels=2):
        super().__init__()
        self.word = nn.Embedding(vocab, d, padding_idx=0)
        self.pos = nn.Embedding(512, d)
        self.ln = nn.LayerNorm(d, eps=1e-12)
        self.layers = nn.ModuleList(Block(d, h, hid) for _ in range(layers))
        self.pre_classifier, self.classifier = nn.Linear(d, d), nn.Linear(d, labels)
        self.drop = nn.Dropout(0.1)

    def forward(self, ids, mask, labels):
        x = self.drop(self.ln(self.word(ids) + self.pos(torch.arange(ids.shape[1]))))
        m = (mask == 0).view(ids.shape[0], 1, 1, ids.shape[1])
        for layer in self.layers:
            x = layer(x, m)
        c = self.drop(torch.relu(self.pre_classifier(x[:, 0])))
        return nn.functional.cross_entropy(self.classifier(c).float(), labels)


def main():
    threads, steps = int(sys.argv[1]), int(sys.argv[2])
    shapes = [(int(sys.argv[i]), int(sys.argv[i + 1])) for i in range(3, len(sys.argv), 2)]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = DistilBert()
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01)
    for b, s in shapes:
        ids = torch.randint(1000, 30000, (b, s))
        mask = torch.ones(b, s, dtype=torch.long)
        labels = torch.arange(b) % 2
        for mode in ("fp32", "autocast-bf16"):
            def step():
                opt.zero_grad(set_to_none=True)
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode != "fp32"):
                    loss = model(ids, mask, labels)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
            step()  # warm-up
            ts = []
            for _ in range(steps):
                t0 = time.perf_counter()
                step()
                ts.append((time.perf_counter() - t0) * 1000)
            ts.sort()
            med = ts[len(ts) // 2]
            print(f"PyTorch {torch.__version__} full training step {b}x{s} ({mode}): {med:.1f} ms/step  {b * s / med * 1000:.0f} tokens/s  (min {ts[0]:.1f}; threads {threads})", flush=True)


if __name__ == "__main__":
    main()
