"""The CapabilityStatement, generated from the registry the routes register in."""

from __future__ import annotations

from gateway.fhir.registry import Registry

SOFTWARE = "openehr-modular-reference FHIR gateway"


def capability_statement(registry: Registry, base: str, version: str, date: str) -> dict:
    resources = []
    for definition in registry.resources.values():
        entry: dict = {"type": definition.type}
        if definition.profile:
            entry["profile"] = definition.profile
        if definition.documentation:
            entry["documentation"] = definition.documentation
        entry["interaction"] = [{"code": code} for code in definition.interactions]
        entry["versioning"] = "versioned-update" if "update" in definition.interactions else "versioned"
        entry["readHistory"] = "vread" in definition.interactions
        entry["updateCreate"] = False
        entry["conditionalCreate"] = definition.conditional_create
        entry["conditionalRead"] = "not-supported"
        entry["conditionalUpdate"] = False
        entry["conditionalDelete"] = "not-supported"
        if definition.search_include:
            entry["searchInclude"] = list(definition.search_include)
        if definition.search_rev_include:
            entry["searchRevInclude"] = list(definition.search_rev_include)
        params = []
        for p in definition.search_params.values():
            param = {"name": p.name, "type": p.type, "documentation": p.documentation}
            if p.definition:
                param["definition"] = p.definition
            params.append(param)
        if params:
            entry["searchParam"] = params
        if definition.operations:
            entry["operation"] = [{"name": n, "definition": d} for n, d in definition.operations]
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": "Västra Götalandsregionen (reference architecture)",
        "kind": "instance",
        "software": {"name": SOFTWARE, "version": version},
        "implementation": {"description": "FHIR R4 gateway over openEHR modules", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "application/fhir+xml", "json", "xml"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Unknown search parameters give 400 unless 'Prefer: handling=lenient'. "
                "Paging with _count and _offset; _summary (true, text, data, count, false), "
                "_elements, _total.",
                "resource": resources,
                "interaction": [{"code": code} for code in registry.system_interactions],
            }
        ],
    }
