"""`python -m contracts.pact consumers|verify|matrix` — what `make contracts` runs.

- consumers [--out DIR]: run the consumer tests, (re)writing the pacts (default contracts/pacts/)
- verify [--module M ...] [--version V] [--no-record]: start each module as a real process (fresh
  SQLite, a real demographics for clinical modules), verify it against its pacts with provider
  states through its public API, record the results under contracts/verifications/
- matrix: print the verification matrix
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from contracts.pact import matrix
from contracts.pact.consumer import write_pacts
from contracts.pact.processes import MODULES, verify_module
from contracts.pact.verify import PACT_DIR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.pact", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    consumers = sub.add_parser("consumers", help="run the consumer tests and write the pacts")
    consumers.add_argument("--out", type=Path, default=PACT_DIR)
    check = sub.add_parser("verify", help="verify the modules against their pacts and record the results")
    check.add_argument("--module", action="append", choices=MODULES)
    check.add_argument("--version", default=None, help="the provider version recorded (default: this checkout)")
    check.add_argument("--no-record", action="store_true")
    sub.add_parser("matrix", help="print the verification matrix")
    args = parser.parse_args(argv)

    if args.command == "consumers":
        with tempfile.TemporaryDirectory() as tmp:
            for path in write_pacts(Path(tmp)):
                args.out.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, args.out / path.name)
                count = len(json.loads(path.read_text(encoding="utf-8"))["interactions"])
                print(f"wrote {args.out / path.name} ({count} interactions)")
        return 0
    if args.command == "verify":
        version = args.version or matrix.current_version()
        failed = False
        for module in args.module or MODULES:
            result = verify_module(module)
            print(f"{module} {version}: {'passed' if result.passed else 'FAILED'}")
            for failure in result.failures:
                print(f"  - {failure}")
            failed |= not result.passed
            if not args.no_record:
                matrix.record(result, version)
        return 1 if failed else 0
    print(matrix.matrix_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
