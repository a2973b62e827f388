"""Incidents, their timeline, and each agency's assignment with the units it sends."""
