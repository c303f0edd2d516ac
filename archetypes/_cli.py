"""The vendors' command line: compile OPTs, validate compositions, print examples, list templates.

Exit codes: 0 valid / done, 1 invalid, 2 usage error (bad arguments, unreadable or unknown input).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import archetypes
from archetypes._registry import dumps


class UsageError(Exception):
    pass


def _load_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise UsageError(f"{path} is not JSON: {error}") from None


def _validator(template: str) -> tuple[archetypes.Validator, str]:
    """A template id, an OPT file or a JSON Schema file, whichever `template` names."""
    path = Path(template)
    if path.suffix.lower() in {".opt", ".xml"}:
        if not path.is_file():
            raise UsageError(f"no such OPT file: {path}")
        try:
            return archetypes.Validator(archetypes.compile_opt(path)), path.name
        except archetypes.UnsupportedConstraint as error:
            raise UsageError(f"{path}: {error}") from None
    if path.suffix.lower() == ".json":
        return archetypes.Validator(_load_json(path)), path.name
    try:
        return archetypes.validator_for(template), template
    except archetypes.TemplateNotFound:
        known = ", ".join(archetypes.template_ids())
        raise UsageError(f"unknown template {template!r} (known: {known}; or give an .opt or .json file)") from None


def _compile(args: argparse.Namespace) -> int:
    try:
        schema = archetypes.compile_opt(args.opt)
    except OSError as error:
        raise UsageError(f"cannot read {args.opt}: {error.strerror}") from None
    except archetypes.UnsupportedConstraint as error:
        raise UsageError(f"{args.opt}: {error}") from None
    text = dumps(schema)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _validate(args: argparse.Namespace) -> int:
    validator, against = _validator(args.template)
    report, invalid = [], 0
    for path in args.files:
        issues = validator.issues(_load_json(path))
        invalid += bool(issues)
        report.append({"file": str(path), "template": against, "valid": not issues,
                       "issues": [{"path": i.path, "pointer": i.pointer, "message": i.message,
                                   "keyword": i.keyword} for i in issues]})
    if args.json:
        json.dump(report, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        for entry in report:
            print(f"{'valid  ' if entry['valid'] else 'INVALID'} {entry['file']} against {against}")
            for issue in entry["issues"]:
                print(f"  {issue['path']}\n    at {issue['pointer'] or '/'}: {issue['message']}")
        print(f"{len(report) - invalid} valid, {invalid} invalid")
    return 1 if invalid else 0


def _example(args: argparse.Namespace) -> int:
    try:
        instance = archetypes.example(args.template, optional=args.optional)
    except archetypes.TemplateNotFound:
        known = ", ".join(archetypes.template_ids())
        raise UsageError(f"unknown template {args.template!r} (known: {known}; or give an .opt file)") from None
    except OSError as error:
        raise UsageError(f"cannot read {args.template}: {error.strerror or error}") from None
    except archetypes.UnsupportedConstraint as error:
        raise UsageError(f"{args.template}: {error}") from None
    except archetypes.ExampleError as error:
        print(f"error: {error}", file=sys.stderr)
        for issue in error.issues:
            print(f"  {issue.path}\n    at {issue.pointer or '/'}: {issue.message}", file=sys.stderr)
        return 1
    sys.stdout.write(json.dumps(instance, indent=1, ensure_ascii=False) + "\n")
    return 0


def _list(args: argparse.Namespace) -> int:
    for template_id in archetypes.template_ids():
        print(f"{template_id}\t{archetypes.opt_path(template_id)}\t{archetypes.schema_path(template_id)}")
    return 0


def _build_schemas(args: argparse.Namespace) -> int:
    for path in archetypes.build_schemas():
        print(f"wrote {path}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m archetypes", description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True)

    compile_ = commands.add_parser("compile", help="compile an OPT 1.4 file to a JSON Schema (Draft 2020-12)")
    compile_.add_argument("opt", type=Path)
    compile_.add_argument("-o", "--output", type=Path, help="write the schema here instead of standard output")
    compile_.set_defaults(run=_compile)

    validate = commands.add_parser("validate", help="validate compositions; exit 0 valid, 1 invalid, 2 usage error")
    validate.add_argument("--template", required=True, help="a template id (see list), an .opt file or a .json schema")
    validate.add_argument("--json", action="store_true", help="print a JSON report instead of text")
    validate.add_argument("files", nargs="+", type=Path)
    validate.set_defaults(run=_validate)

    example = commands.add_parser(
        "example", help="print a minimal composition valid against a template (exit 1 if none can be made)"
    )
    example.add_argument("template", help="a template id (see list) or an .opt file")
    example.add_argument(
        "--optional", action="store_true", help="also include every optional node the template constrains, once"
    )
    example.set_defaults(run=_example)

    commands.add_parser("list", help="list the project's templates").set_defaults(run=_list)
    commands.add_parser("build-schemas", help="regenerate the committed schemas from the committed OPTs") \
        .set_defaults(run=_build_schemas)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)  # argparse itself exits 2 on a usage error
    try:
        return args.run(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
