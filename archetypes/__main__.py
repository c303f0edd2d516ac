"""Command line: ``python -m archetypes build-schemas`` | ``compile OPT [-o SCHEMA]``."""

from __future__ import annotations

import argparse
import pathlib
import sys

from archetypes._errors import UnsupportedConstraint
from archetypes._registry import build_schemas, compile_opt, dumps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m archetypes")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "build-schemas", help="regenerate archetypes/schemas/*.schema.json from templates/*.opt"
    )
    compile_command = commands.add_parser("compile", help="compile an OPT 1.4 file to a JSON Schema")
    compile_command.add_argument("opt", type=pathlib.Path)
    compile_command.add_argument("-o", "--output", type=pathlib.Path, help="write here instead of stdout")
    arguments = parser.parse_args(argv)
    try:
        if arguments.command == "build-schemas":
            for path in build_schemas():
                print(path)
            return 0
        text = dumps(compile_opt(arguments.opt))
    except (UnsupportedConstraint, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if arguments.output:
        arguments.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
