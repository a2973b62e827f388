"""Road network and closest-unit recommendation by road travel time (issue #4).

- `models`: the network in ordinary tables (road_network, road_node, road_edge), same on SQLite and PostgreSQL.
- `speeds`: km/h per (vehicle profile, road class) as data; ferries and boat lanes.
- `importer`: reads an OpenStreetMap extract (pyosmium) or the demo network into arrays; no database.
- `actions`: the only writer (replace the stored network in one transaction; load the demo network).
- `router`: the network in `scipy.sparse.csgraph`, snapping with a KD-tree, `recommend()`.
- `service`: the cached Router per database, rebuilt when the stored network changes.
"""
