"""Mobility scenarios (issue 23): what a new line, bikes or a new host would change."""
