"""The modules' OpenAPI documents, the schemathesis checks run from them, and the compatibility check.

python -m contracts.openapi write            # regenerate the committed documents from the apps
python -m contracts.openapi check            # fail (with a diff) when an app differs from its document
python -m contracts.openapi compat OLD NEW   # breaking changes from OLD to NEW (exit 1 if any)
python -m contracts.openapi fuzz MODULE URL  # schemathesis against a running module
"""

from contracts.openapi.checker import Finding, check_api
from contracts.openapi.documents import MODULES, committed_openapi, drift, generated_openapi, write

__all__ = ["MODULES", "Finding", "check_api", "committed_openapi", "drift", "generated_openapi", "write"]
