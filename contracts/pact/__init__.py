"""Consumer-driven contracts (Pact V4): verification API, public-API provider states, processes.

For the conformance kit:

    from contracts.pact import verify, public_api_states
    result = verify("medication", url, state_handler=public_api_states("medication", url, demographics_url))

Or, for our own modules (or a vendor's app factory as `target`), started as real processes:

    result = verify_module("medication", target="vendor.app:create_app")
"""

from contracts.pact.processes import MODULES, provider, verify_module
from contracts.pact.states import StateError, StateHandler, public_api_states
from contracts.pact.verify import PACT_DIR, VerificationResult, pacts_for, verify

__all__ = [
    "PACT_DIR",
    "StateError",
    "StateHandler",
    "VerificationResult",
    "pacts_for",
    "public_api_states",
    "verify",
    "verify_module",
    "provider",
    "MODULES",
]
