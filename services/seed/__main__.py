"""`python -m services.seed --patients N`: fill the four running modules with a synthetic data set.

    python -m services.seed --patients 50 --seed 1 \\
        --demographics http://127.0.0.1:8081 --journal http://127.0.0.1:8082 \\
        --medication http://127.0.0.1:8083 --referrals http://127.0.0.1:8084

The same --seed (and --as-of) gives the same data set. Exits 1 with the failing request on error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import date

import httpx

from .runner import AS_OF, BASE_PATH, Modules, SeedError, seed

DEFAULTS = {
    "demographics": "http://127.0.0.1:8081",
    "journal": "http://127.0.0.1:8082",
    "medication": "http://127.0.0.1:8083",
    "referrals": "http://127.0.0.1:8084",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m services.seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=10, help="how many patients (default 10)")
    parser.add_argument("--seed", type=int, default=1, help="random seed: same seed, same data (default 1)")
    parser.add_argument("--concurrency", type=int, default=16, help="patients written at once (default 16)")
    parser.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=AS_OF,
        help=f"the data set's 'today' (default {AS_OF.isoformat()})",
    )
    parser.add_argument("--base-path", default=BASE_PATH, help=f"API base path (default {BASE_PATH})")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
    for name, url in DEFAULTS.items():
        parser.add_argument(f"--{name}", default=url, help=f"{name} base URL (default {url})")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> str:
    limits = httpx.Limits(max_connections=args.concurrency * 2)

    def client(url: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=url.rstrip("/"), timeout=args.timeout, limits=limits)

    async with (
        client(args.demographics) as demographics,
        client(args.journal) as journal,
        client(args.medication) as medication,
        client(args.referrals) as referrals,
    ):
        modules = Modules(demographics, journal, medication, referrals, args.base_path)
        started = time.perf_counter()
        report = await seed(modules, args.patients, args.seed, args.concurrency, args.as_of)
        return f"seeded {report.summary()} in {time.perf_counter() - started:.1f} s"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        print(asyncio.run(run(args)))
    except (SeedError, httpx.HTTPError) as error:
        print(f"seed failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
