"""Incremental updates after an import of offers: the travel times of the new locations
(``times``) and the indicator tables brought up to date (``indicators``).
"""
