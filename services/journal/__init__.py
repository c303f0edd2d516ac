"""The journal module: journal notes (journalanteckningar) with diagnoses, as openEHR compositions."""
