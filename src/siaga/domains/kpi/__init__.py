"""Key performance indicators of the centre (issue #7): each KPI has ONE definition, in
`kpi/definitions.py` (its docstring cites ../shared/design/PRODUCT.md), computed by `kpi/service.py` with
SQL aggregates that run alike on SQLite and PostgreSQL, for a period [from, to) of calendar days in the site's zone,
grouped by period (day/week/month), hour of day, day of week, category, kecamatan, agency or operator.
Every screen (`/stats`), report (PDF, XLSX, HTML, JSON) and export reads them from here."""
