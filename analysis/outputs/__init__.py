"""What the pages and the reports read: maps (GeoJSON, classes, legends), the dashboard's
queries, rankings, territory search, the data dictionary and the one spreadsheet writer.
"""
