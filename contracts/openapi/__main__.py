"""python -m contracts.openapi write | check | compat OLD NEW | fuzz MODULE BASE_URL (see __init__)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from contracts.openapi import documents


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.openapi", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("write", help="regenerate contracts/openapi/<module>.json from the apps")
    write.add_argument("modules", nargs="*", default=list(documents.MODULES))
    check = commands.add_parser("check", help="exit 1 with a diff when an app differs from its committed document")
    check.add_argument("modules", nargs="*", default=list(documents.MODULES))
    compat = commands.add_parser("compat", help="breaking changes from OLD to NEW; exit 1 when there are any")
    compat.add_argument("old", type=Path)
    compat.add_argument("new", type=Path)
    fuzz = commands.add_parser("fuzz", help="schemathesis against a running module, from its committed document")
    fuzz.add_argument("module", choices=documents.MODULES)
    fuzz.add_argument("base_url")
    fuzz.add_argument("--max-examples", type=int, default=20)
    fuzz.add_argument("--seed", type=int, default=1)
    fuzz.add_argument("--json", action="store_true", help="print the findings as JSON")
    args = parser.parse_args(argv)

    if args.command == "write":
        changed = documents.write(tuple(args.modules))
        for path in changed:
            print(f"wrote {path}")
        print("up to date" if not changed else f"{len(changed)} document(s) changed: review and commit them")
        return 0
    if args.command == "check":
        failed = False
        for module in args.modules:
            diff = documents.drift(module)
            if diff:
                failed = True
                print(diff)
        if failed:
            print(f"The apps' OpenAPI differs from the committed documents. If intended: {documents.WRITE_COMMAND}")
        return 1 if failed else 0
    if args.command == "compat":
        from contracts.openapi.compat import breaking_changes, report

        old = json.loads(args.old.read_text(encoding="utf-8"))
        new = json.loads(args.new.read_text(encoding="utf-8"))
        changes = breaking_changes(old, new)
        print(report(changes, old=str(args.old), new=str(args.new)))
        return 1 if changes else 0
    from contracts.openapi.checker import check_api

    findings = check_api(args.module, args.base_url, max_examples=args.max_examples, seed=args.seed)
    if args.json:
        print(json.dumps([f.as_dict() for f in findings], indent=2))
    else:
        for finding in findings:
            print(finding)
        print(f"{len(findings)} finding(s) for {args.module} at {args.base_url}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
