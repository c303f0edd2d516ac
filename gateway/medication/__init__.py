"""FHIR MedicationRequest over the medication module (template vgr.medication_order.v1)."""
