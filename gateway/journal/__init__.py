"""FHIR Composition and Condition over the journal module (template vgr.journal_note.v1)."""
