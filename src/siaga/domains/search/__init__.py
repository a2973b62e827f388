"""Search sectors: the parts of a missing-person or multi-team search area drawn on the incident's map,
each searched by one agency's team and cleared with a note."""
