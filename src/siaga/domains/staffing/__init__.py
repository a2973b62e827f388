"""Staffing: Erlang B, C and A, operators needed per hour of the week from the centre's history, and a
shift roster (page /staffing, `siaga staffing`, GET /api/v1/staffing)."""
