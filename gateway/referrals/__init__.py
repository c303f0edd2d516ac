"""FHIR ServiceRequest and Task over the referrals module (template vgr.referral.v1)."""
