#!/usr/bin/env python3
"""PyTorch on an NVIDIA GPU, the baseline of the webgpu kernel: nn.Embedding + nn.GRUCell stepped one
token at a time (what an incremental engine does), and nn.GRU (cuDNN, whole sequence per call).

Same shapes and loop as bench/kernel.ts: B rows of T random token ids per call, the state carried between
calls, one warm-up call, timed for --seconds with torch.cuda.synchronize() around. One JSON line per point.
UNTESTED: written on a machine without a GPU.
"""
import argparse
import json
import time

import torch
from torch import nn


def timed(call, seconds):
    call(0)  # warm-up: cuDNN plans, allocator
    torch.cuda.synchronize()
    calls = 0
    started = time.perf_counter()
    while True:
        calls += 1
        call(calls)
        torch.cuda.synchronize()
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return calls, elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="1,256,1024,4096,16384")
    parser.add_argument("--vocab", type=int, default=20000)
    parser.add_argument("--embed", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--impls", default="gru-cell,gru")
    args = parser.parse_args()
    device = torch.device("cuda")
    card = torch.cuda.get_device_name(device)
    torch.manual_seed(1)
    embedding = nn.Embedding(args.vocab, args.embed).to(device)
    cell = nn.GRUCell(args.embed, args.hidden).to(device)
    gru = nn.GRU(args.embed, args.hidden, batch_first=True).to(device)
    for batch in (int(b) for b in args.batches.split(",")):
        tokens = [torch.randint(0, args.vocab, (batch, args.steps), device=device) for _ in range(2)]
        for impl in args.impls.split(","):
            with torch.inference_mode():
                if impl == "gru-cell":
                    state = {"h": torch.zeros(batch, args.hidden, device=device)}

                    def call(k, state=state):
                        x = embedding(tokens[k % 2])
                        h = state["h"]
                        for t in range(args.steps):
                            h = cell(x[:, t], h)
                        state["h"] = h
                else:
                    state = {"h": torch.zeros(1, batch, args.hidden, device=device)}

                    def call(k, state=state):
                        _, state["h"] = gru(embedding(tokens[k % 2]), state["h"])

                calls, elapsed = timed(call, args.seconds)
            print(json.dumps({
                "bench": "kernel",
                "impl": f"pytorch-cuda-{impl}",
                "tokens_per_s": batch * args.steps * calls / elapsed,
                "backend": f"torch {torch.__version__} cuda {torch.version.cuda}, {card}",
                "cell": "gru",
                "vocab": args.vocab,
                "embed": args.embed,
                "hidden": args.hidden,
                "layers": 1,
                "batch": batch,
                "steps": args.steps,
                "calls": calls,
                "seconds": elapsed,
                "ms_per_call": elapsed * 1000 / calls,
                "input_table": False,
                "flops_per_token": 2 * 3 * args.hidden * (args.hidden + args.embed),
                "gflops": batch * args.steps * calls / elapsed * 2 * 3 * args.hidden * (args.hidden + args.embed) / 1e9,
            }), flush=True)


if __name__ == "__main__":
    main()
