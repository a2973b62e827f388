"""Calls: one telephony leg each, with times, operator, outcome and caller locations."""
