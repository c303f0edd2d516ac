"""Demographics: persons (DEMOGRAPHIC PERSON, template vgr.person.v1), identifiers and the EHR registry.

- `person`, `folding`, `ehr_status`, `search`: the domain (search fields of a PERSON, Swedish name
  folding, EHR_STATUS subject rules, search parameters), pure functions;
- `service`: the use cases; `repository`: the EHR table and the person search over the kernel's index;
- `api`: the routes; `app`: the composition root; `settings`: DEMOGRAPHICS_* environment;
- `examples`: builders of valid persons and EHR_STATUSes (tests, seed data, benchmark).
"""
