"""Streamlit helpers shared by the dashboard pages (the only package importing streamlit).

- :mod:`ui.core`: cached read-only connection, database version, query-string state, French
  number formatting, estimate badges, "travel times missing" message.
- :mod:`ui.data`: cached data access (indicators, GeoJSON, layers), keyed on filter values.
- :mod:`ui.mapping`: Folium maps without online tiles, legends, clustered markers.
"""
