"""FHIR Patient over the demographics module (PERSON, template vgr.person.v1)."""
