"""The error of the report package.

:class:`ReportError`: a report cannot be produced (unknown level or code, empty territory,
bad filters); its message is in French and meant for the user. Nothing is written when it is raised.
"""

from __future__ import annotations


class ReportError(ValueError):
    """A report cannot be produced (unknown level or code, empty territory, bad filters).

    The message is in French and meant for the user.
    """
