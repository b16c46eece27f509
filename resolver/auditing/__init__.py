"""Auditing upstream bindep files: findings against the metadata, and evidence from the projects' own code
(what it runs and imports) for every runtime request."""
