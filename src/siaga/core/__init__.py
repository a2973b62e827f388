"""Cross-cutting pieces: clock, errors, ids, security, authorisation, audit, language."""
