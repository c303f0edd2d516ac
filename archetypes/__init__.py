"""openEHR archetypes and templates: OPT 1.4 -> JSON Schema compiler and a fast validator.

schema = compile_opt(Path("my_template.opt"))
issues = Validator(schema).issues(composition)      # [] when valid
issues = validate(composition, "vgr.medication_order.v1")   # a project template
composition = example("vgr.medication_order.v1")    # a minimal valid composition (or an OPT path)
"""

from archetypes._errors import UnsupportedConstraint
from archetypes._example import ExampleError, example
from archetypes._registry import (
    TemplateNotFound,
    build_schemas,
    compile_opt,
    opt_path,
    schema_path,
    template_ids,
    validate,
    validator_for,
)
from archetypes._validator import ValidationIssue, Validator

__all__ = [
    "ExampleError",
    "TemplateNotFound",
    "UnsupportedConstraint",
    "ValidationIssue",
    "Validator",
    "build_schemas",
    "compile_opt",
    "example",
    "opt_path",
    "schema_path",
    "template_ids",
    "validate",
    "validator_for",
]
