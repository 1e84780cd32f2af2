"""Reading a class file in memory: one row per pupil, CSV (``;`` or ``,``, UTF-8 or Windows
encodings) or XLSX, through the readers of the imports (:func:`analysis.imports.reading.read_table`).

Owns the accepted columns (:data:`COLUMNS` and their aliases), :class:`PupilRow`,
:func:`read_pupils` and the template (:func:`template_csv`, :func:`template_xlsx`). Nothing is
written anywhere: the bytes are read from memory and the rows stay in memory.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

from analysis.errors import DataError
from analysis.validate_args import match_key

#: Canonical column -> accepted header spellings (compared case-, accent- and punctuation-insensitively).
COLUMNS: dict[str, tuple[str, ...]] = {
    "eleve": ("eleve", "élève", "id", "identifiant", "pseudonyme", "code eleve"),
    "longitude": ("longitude", "lon", "lng", "x"),
    "latitude": ("latitude", "lat", "y"),
    "adresse": ("adresse", "rue", "voie", "adresse postale"),
    "code_postal": ("code_postal", "code postal", "cp", "postcode"),
    "commune": ("commune", "ville", "localite", "code insee", "insee"),
    "mode": ("mode", "mode de deplacement"),
    "minutes": ("minutes", "budget", "budget temps", "temps"),
}

#: Largest number of pupils in one file (a whole lycée's seconde fits).
MAX_PUPILS = 3000

#: The template's header and example rows (fictitious pupils, public places).
TEMPLATE_ROWS: tuple[tuple[str, ...], ...] = (
    ("eleve", "longitude", "latitude", "adresse", "code_postal", "commune", "mode", "minutes"),
    ("E01", "-0.88876", "48.838045", "", "", "", "", ""),
    ("E02", "", "", "Place du Château", "14500", "Vire Normandie", "", ""),
    ("E03", "", "", "", "", "Vire Normandie", "bike", "30"),
    ("E04", "", "", "", "", "14762", "", ""),
)


@dataclass
class PupilRow:
    """One data row of a class file, by canonical column (missing columns are "").

    Attributes
    ----------
    row : int
        1-based data row (header excluded).
    values : dict
        Canonical column -> stripped text.
    problem : str or None
        Why the row could not be read at all (wrong number of fields...).
    """

    row: int
    values: dict[str, str]
    problem: str | None = None

    @property
    def eleve(self) -> str:
        return self.values.get("eleve") or f"ligne {self.row}"


def _column_map(columns: list[str]) -> dict[str, int]:
    aliases = {match_key(a): canon for canon, names in COLUMNS.items() for a in names}
    out: dict[str, int] = {}
    for i, c in enumerate(columns):
        canon = aliases.get(match_key(c))
        if canon is not None and canon not in out:
            out[canon] = i
    return out


def _eleve_of(raw_rec: str, index: int) -> dict[str, str]:
    """The pseudonym of a malformed record, when its field can still be told."""
    try:
        fields = json.loads(raw_rec) if raw_rec else []
    except ValueError:
        return {}
    if isinstance(fields, list) and len(fields) > index and str(fields[index]).strip():
        return {"eleve": str(fields[index]).strip()}
    return {}


def read_pupils(data: bytes, name: str = "fichier") -> tuple[list[PupilRow], list[str]]:
    """The pupil rows of a class file's bytes, and remarks on the whole file.

    Parameters
    ----------
    data : bytes
        The file content (read in memory; never written anywhere).
    name : str
        File name, for the format (``.xlsx``) and the messages.

    Returns
    -------
    (list of PupilRow, list of str)
        Every data row in file order (malformed ones with ``problem`` set), and notes.

    Raises
    ------
    DataError
        The file cannot be read at all: not a CSV/XLSX, over the limits, no ``eleve`` column,
        no location column, no data row, more than :data:`MAX_PUPILS` rows.
    """
    from analysis.imports.reading import read_table

    raw = read_table(data, name)
    cols = _column_map(raw.columns)
    if "eleve" not in cols:
        found = ", ".join(raw.columns) or "aucune"
        found = found if len(found) <= 160 else found[:160] + "…"
        raise DataError(name, f"colonne « eleve » absente (colonnes trouvées : {found})", field="eleve")
    if not ({"longitude", "latitude"} <= set(cols) or "commune" in cols):
        raise DataError(
            name,
            "il faut les colonnes « longitude » et « latitude », ou « commune » "
            "(avec « adresse » et « code_postal » facultatives)",
            field="commune",
        )
    if raw.rows_in > MAX_PUPILS:
        raise DataError(name, f"trop de lignes : {raw.rows_in} (au plus {MAX_PUPILS} élèves par fichier)")
    rows = [PupilRow(n, {c: rec[i].strip() for c, i in cols.items()}) for n, rec in raw.rows]
    rows += [PupilRow(n, _eleve_of(raw_rec, cols["eleve"]), problem=reason) for n, reason, raw_rec in raw.bad]
    if not rows:
        raise DataError(name, "aucune ligne d'élève")
    rows.sort(key=lambda r: r.row)
    return rows, [raw.note] if raw.note else []


def template_csv() -> bytes:
    """The class-file template as CSV (``;``, UTF-8 with BOM, for French spreadsheets)."""
    text = "\r\n".join(";".join(r) for r in TEMPLATE_ROWS) + "\r\n"
    return ("\ufeff" + text).encode("utf-8")


def template_xlsx() -> bytes:
    """The class-file template as XLSX (a data sheet and a « Notice » sheet)."""
    import openpyxl

    from analysis.outputs.export import workbook_bytes, xlsx_value

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Élèves"
    for r in TEMPLATE_ROWS:
        ws.append([xlsx_value(v) for v in r])
    notice = wb.create_sheet("Notice")
    for line in TEMPLATE_NOTICE:
        notice.append([xlsx_value(line)])
    buf = io.BytesIO(workbook_bytes(wb))
    return buf.getvalue()


TEMPLATE_NOTICE: tuple[str, ...] = (
    "Une ligne par élève. « eleve » : un pseudonyme choisi par l'établissement (jamais le nom).",
    "Puis, au choix : « longitude » et « latitude » (degrés, ex. -0.88876 et 48.838045) ;",
    "ou « adresse », « code_postal » et « commune » (adresse géocodée par la Base Adresse Nationale "
    "si la machine est en ligne, sinon placée à la mairie de la commune) ;",
    "ou « commune » seule (nom, avec ou sans accents, ou code INSEE) : départ à la mairie.",
    "« mode » (walk, bike, car, transit) et « minutes » facultatifs : remplacent les valeurs choisies pour cet élève.",
    "Le fichier est lu en mémoire et n'est jamais enregistré (voir docs/privacy.md).",
)
