"""Authoring of the project's operational templates: compact Python definitions and a
deterministic OPT 1.4 writer (``python -m archetypes.authoring`` writes
``archetypes/templates/<template_id>.opt``)."""
