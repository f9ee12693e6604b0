#!/usr/bin/env python3
"""PyTorch CPU baseline of `rnnstream bench kernel`: nn.Embedding + nn.RNN/LSTM/GRU (batch_first).

Same shapes and the same loop as bench/kernel.ts: B rows of T random token ids per call, each call
carrying the previous call's final state, timed for --seconds after one warm-up call. Prints one JSON
line per (cell, batch) point: {"impl": "pytorch-cpu", "tokens_per_s": ..., ...}.

Run with Debian's interpreter (/usr/bin/python3, python3-torch) and OpenBLAS; --threads sets
torch.set_num_threads (the machine's cores by default in bench/run.sh).
"""
import argparse
import json
import time

import torch
from torch import nn

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def flops_per_token(cell, embed, hidden, layers):
    """2 FLOPs per multiply-add: input projection (2·G·H·in) plus recurrent (2·G·H·H) per layer."""
    width = GATES[cell] * hidden
    total = 0
    for layer in range(layers):
        total += 2 * width * hidden + 2 * width * (embed if layer == 0 else hidden)
    return total


class Model(nn.Module):
    def __init__(self, cell, vocab, embed, hidden, layers):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.rnn = MODULES[cell](embed, hidden, num_layers=layers, batch_first=True)

    def forward(self, tokens, state):
        _, new_state = self.rnn(self.embedding(tokens), state)
        return new_state


def bench_point(args, cell, batch):
    torch.manual_seed(args.seed)
    model = Model(cell, args.vocab, args.embed, args.hidden, args.layers).eval()
    gen = torch.Generator().manual_seed(args.seed + 1)
    token_sets = [torch.randint(0, args.vocab, (batch, args.steps), generator=gen) for _ in range(2)]
    with torch.inference_mode():
        state = None
        state = model(token_sets[0], state)  # warm-up
        calls = 0
        started = time.perf_counter()
        while True:
            calls += 1
            state = model(token_sets[calls % 2], state)
            elapsed = time.perf_counter() - started
            if elapsed >= args.seconds:
                break
    tokens_per_s = batch * args.steps * calls / elapsed
    flops = flops_per_token(cell, args.embed, args.hidden, args.layers)
    return {
        "bench": "kernel",
        "impl": "pytorch-cpu" if args.threads > 1 else "pytorch-cpu-1t",
        "tokens_per_s": tokens_per_s,
        "backend": f"torch {torch.__version__} cpu, {torch.get_num_threads()} threads",
        "cell": cell,
        "vocab": args.vocab,
        "embed": args.embed,
        "hidden": args.hidden,
        "layers": args.layers,
        "batch": batch,
        "steps": args.steps,
        "calls": calls,
        "seconds": elapsed,
        "ms_per_call": elapsed * 1000 / calls,
        "input_table": False,
        "flops_per_token": flops,
        "gflops": tokens_per_s * flops / 1e9,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default="rnn,lstm,gru")
    parser.add_argument("--batches", default="1,16,256,1024,4096")
    parser.add_argument("--vocab", type=int, default=20000)
    parser.add_argument("--embed", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for cell in args.cells.split(","):
        for batch in (int(b) for b in args.batches.split(",")):
            print(json.dumps(bench_point(args, cell, batch)), flush=True)


if __name__ == "__main__":
    main()
