"""The offline street map of a site: `siaga map import FILE.osm.pbf` builds, from one OpenStreetMap extract,
the vector basemap archive the consoles draw (tilemaker → MBTiles → PMTiles, served with HTTP range
requests), the road network for unit ranking (domains/roads) and patokan from points of interest assigned to
their desa by the official polygons (domains/regions)."""
