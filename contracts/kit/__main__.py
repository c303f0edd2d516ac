"""Command line of the conformance kit; exit 0 only when the module conforms."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from contracts.kit.report import STEPS
from contracts.kit.runner import MODULES, KitConfig, run_kit


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m contracts.kit",
        description="Check that an implementation of a module conforms: its pacts, its OpenAPI and the "
                    "archetypes, through its public HTTP API. Exit 0 when it conforms, 1 when it does not.",
    )
    parser.add_argument("--module", required=True, choices=MODULES)
    parser.add_argument("--base-url", required=True, help="the module's root URL, e.g. http://127.0.0.1:8083")
    parser.add_argument("--demographics-url", help="demographics (needed by journal, medication, referrals "
                        "to create the test EHR)")
    parser.add_argument("--base-path", default="/rest/openehr/v1", help="openEHR REST base path (default %(default)s)")
    parser.add_argument("--report", type=Path, help="folder for summary.txt, junit.xml and report.json")
    parser.add_argument("--steps", default=",".join(STEPS),
                        help=f"comma-separated subset of {','.join(STEPS)} (default: all)")
    parser.add_argument("--allow-skip", action="store_true",
                        help="conform even when a whole step could not run (it is still reported)")
    parser.add_argument("--max-examples", type=int, default=20, help="schemathesis examples per operation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per HTTP request")
    args = parser.parse_args(argv)
    steps = tuple(s.strip() for s in args.steps.split(",") if s.strip())
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        parser.error(f"unknown step(s) {', '.join(unknown)}; choose from {', '.join(STEPS)}")
    if args.module != "demographics" and not args.demographics_url and "archetypes" in steps:
        parser.error(f"--demographics-url is needed: module {args.module} writes compositions into an EHR "
                     "that demographics must know")
    args.steps = steps
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    report = run_kit(KitConfig(
        module=args.module, base_url=args.base_url.rstrip("/"), demographics_url=args.demographics_url,
        base_path=args.base_path, steps=args.steps, allow_skip=args.allow_skip,
        max_examples=args.max_examples, seed=args.seed, timeout_seconds=args.timeout,
    ))
    sys.stdout.write(report.summary())
    if args.report:
        for path in report.write(args.report):
            sys.stdout.write(f"wrote {path}\n")
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
