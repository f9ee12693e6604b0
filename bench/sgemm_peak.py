#!/usr/bin/env python3
"""The machine's float32 matrix-multiply peak (numpy over OpenBLAS): the roofline of the kernel bench.

Multiplies square float32 matrices of a few sizes for --seconds each and prints one JSON line:
{"bench": "sgemm", "gflops": best, "sizes": {...}, "threads": N, "blas": ...}.
Set OPENBLAS_NUM_THREADS before numpy loads (bench/run.sh does), or pass --threads.
"""
import argparse
import json
import os
import sys
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,1024,2048")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    # OpenBLAS reads its thread count once, when the library loads.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    import numpy as np

    rng = np.random.default_rng(1)
    by_size = {}
    for n in (int(s) for s in args.sizes.split(",")):
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        out = np.empty((n, n), dtype=np.float32)
        np.matmul(a, b, out=out)  # warm-up
        calls = 0
        started = time.perf_counter()
        while True:
            np.matmul(a, b, out=out)
            calls += 1
            elapsed = time.perf_counter() - started
            if elapsed >= args.seconds:
                break
        by_size[str(n)] = 2 * n**3 * calls / elapsed / 1e9
    blas = "unknown"
    try:
        info = np.show_config(mode="dicts")  # numpy >= 1.26
        blas = info["Build Dependencies"]["blas"]["name"]
    except Exception:  # older numpy: report the BLAS library actually loaded
        try:
            with open(f"/proc/{os.getpid()}/maps", encoding="utf8") as maps:
                libs = {line.split()[-1] for line in maps if "blas" in line.lower()}
            blas = ", ".join(sorted(os.path.basename(lib) for lib in libs)) or blas
        except OSError:
            pass
    print(json.dumps({
        "bench": "sgemm",
        "gflops": max(by_size.values()),
        "gflops_by_size": by_size,
        "threads": int(os.environ["OPENBLAS_NUM_THREADS"]),
        "blas": blas,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
    }), flush=True)


if __name__ == "__main__":
    main()
