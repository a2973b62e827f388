"""One package per domain: models (tables), schemas (API shapes), service (reads), actions (the only
writers), api (JSON routes)."""
