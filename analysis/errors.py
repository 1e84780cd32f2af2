"""Error types carrying the file, row and field an input problem was found in."""

from __future__ import annotations


class DataError(Exception):
    """An input file is missing, truncated or malformed.

    Parameters
    ----------
    path : str
        The file the problem was found in.
    message : str
        What is wrong and what was expected.
    row : int, optional
        1-based data row number (header excluded) where it applies.
    field : str, optional
        Column / field name where it applies.
    """

    def __init__(self, path: str, message: str, row: int | None = None, field: str | None = None):
        self.path = str(path)
        self.row = row
        self.field = field
        self.message = message
        where = self.path
        if row is not None:
            where += f", ligne {row}"
        if field is not None:
            where += f", champ « {field} »"
        super().__init__(f"{where} : {message}")
