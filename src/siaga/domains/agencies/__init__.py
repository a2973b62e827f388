"""Agencies (OPD) that respond to incidents, and their stations."""
