"""Reading and checking the open data: the source registry (``python -m analysis.sources``),
checked readers, field checks, territories (COG 2025), lycées, offers, collective projects,
pupils and geocoding. First stage of the pipeline; imports only the ground floor
(``analysis.config``, ``db``, ``errors``, ``text``, ``catalogue``) and ``analysis.sanitize``.
"""
