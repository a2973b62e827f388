"""Project data: the Bengkalis reference set (gazetteer, agencies, stations, units, categories)."""
