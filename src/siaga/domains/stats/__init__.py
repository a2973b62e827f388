"""Statistics for the wallboard and the supervisors: read-only, computed from calls, sessions and incidents."""
