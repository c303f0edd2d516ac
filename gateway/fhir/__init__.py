"""FHIR R4 plumbing shared by every resource: errors, formats, search, bundles, capabilities."""
