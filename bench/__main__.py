"""`make bench`: run every benchmark, print each number with its same-run baseline and ratio."""

import argparse
import importlib

from bench._harness import Results

BENCHMARKS = ("validation", "services", "gateway", "gateway_cpu")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("only", nargs="*", help=f"run only these of {', '.join(BENCHMARKS)}")
    args = parser.parse_args()
    unknown = set(args.only) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    results = Results()
    for name in args.only or BENCHMARKS:
        importlib.import_module(f"bench.{name}").run(results)
    results.write()


if __name__ == "__main__":
    main()
