"""Reports built on the KPIs (`domains/kpi`): the period report (month, quarter, any range up to two years)
as JSON, an HTML page, a PDF (WeasyPrint, charts drawn here as SVG) and an XLSX workbook, in Bahasa
Indonesia or English; and the monitoring export of calls and incidents (CSV, JSON) for the national
monitoring centre, phone numbers masked. Read-only: nothing here writes."""
