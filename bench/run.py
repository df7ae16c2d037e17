"""`make bench`: run every benchmark in this folder, each printing its figures and ratios.

Set BENCH_ONLY=leads,tracing to pick some. Benchmarks measure; they never assert timings.
"""

from __future__ import annotations

import os
import runpy
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    only = {name for name in os.environ.get("BENCH_ONLY", "").split(",") if name}
    failed = 0
    for script in sorted(HERE.glob("*_bench.py")):
        name = script.stem.removesuffix("_bench")
        if only and name not in only:
            continue
        print(f"\n=== {name} ({script.name}) ===", flush=True)
        started = time.perf_counter()
        try:
            runpy.run_path(str(script), run_name="__main__")
        except SystemExit as exc:
            failed += bool(exc.code)
        except Exception as exc:  # report and go on with the next benchmark
            print(f"benchmark {name} failed: {exc!r}", flush=True)
            failed += 1
        print(f"--- {name}: {time.perf_counter() - started:.1f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    sys.exit(main())
