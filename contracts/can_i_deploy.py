"""`python -m contracts.can_i_deploy --module x --version y`: yes (exit 0) or no (exit 1) with the
reason, from the committed verification matrix (contracts/verifications/) and the committed pacts."""

from __future__ import annotations

import argparse
import sys

from contracts.pact.matrix import can_i_deploy, current_version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.can_i_deploy", description=__doc__.splitlines()[0])
    parser.add_argument("--module", required=True, choices=("demographics", "journal", "medication", "referrals"))
    parser.add_argument("--version", default=None, help="the module version (default: this checkout's)")
    args = parser.parse_args(argv)
    decision = can_i_deploy(args.module, args.version or current_version())
    print(decision)
    return 0 if decision.deployable else 1


if __name__ == "__main__":
    sys.exit(main())
