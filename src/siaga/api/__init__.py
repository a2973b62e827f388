"""The JSON API under /api/v1: each domain's router, plus auth, events and audit."""
