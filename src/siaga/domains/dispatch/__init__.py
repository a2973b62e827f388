"""Dispatch: sending an incident to its agencies and their units, and following each assignment step by step
against its deadline (acknowledge, send units, arrive), escalating to the agency's backup when a step is
late. It acts on incidents and units and reads the response plan; nothing below it knows it."""
