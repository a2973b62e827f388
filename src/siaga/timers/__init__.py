"""Timers: the background work every app process does on a clock, one job per concern (jobs.py), run in turn
by the ticker (ticker.py). Each job is a domain's own function; this package only schedules them, so it sits
above the domains."""
