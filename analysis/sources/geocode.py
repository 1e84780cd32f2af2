"""Optional street-level geocoding with the Base Adresse Nationale (BAN) batch CSV endpoint.

Offline, offers are placed at their commune's centre point (``location_precision =
'commune'``, see :mod:`analysis.sources.offers`). When enabled (and online), :func:`geocode_offers`
sends the street, postcode and town of each offer to ``<base>/search/csv/`` (the addok batch
endpoint: a multipart POST of a CSV file, ``columns`` naming the columns to search,
``postcode`` the column used as a filter) and reads back ``latitude``, ``longitude``,
``result_score`` and ``result_citycode``. A result is used only when its score is at least
``min_score`` and its INSEE code is the commune the offer was already located in; the offer
then gets ``location_precision = 'address'``. Every answer (used or not) is kept in the
``geocode_cache`` table, so a later import asks only for new addresses.

Any network problem (no connection, timeout, HTTP error, unreadable answer) leaves the offers
at their commune centre and is reported through ``progress``: geocoding never blocks an import.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable

import duckdb
import pandas as pd

from analysis.text import count as count_of
from analysis.text import normalize_name

DEFAULT_BASE_URL = "https://api-adresse.data.gouv.fr"
#: Lowest BAN score accepted for a street-level position.
DEFAULT_MIN_SCORE = 0.5
#: Addresses sent per request (the public endpoint accepts files up to 50 MB).
BATCH_SIZE = 5000

CACHE_DDL = """
CREATE TABLE IF NOT EXISTS geocode_cache (
    query VARCHAR PRIMARY KEY, lon DOUBLE, lat DOUBLE, score DOUBLE, citycode VARCHAR,
    fetched_at TIMESTAMP
)
"""


class GeocoderUnavailable(RuntimeError):
    """The geocoding service could not be reached or answered unreadably."""


def make_query(street: str | None, postcode: str | None, town: str | None) -> str:
    """Cache key of an address: normalised ``street | postcode | town``."""
    return " | ".join([normalize_name(street or ""), (postcode or "").strip(), normalize_name(town or "")])


def _multipart(fields: list[tuple[str, str]], file_field: str, filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = "----observatoire" + uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    out.write(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n'
        "Content-Type: text/csv\r\n\r\n".encode()
    )
    out.write(content)
    out.write(f"\r\n--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def ban_search_csv(addresses: pd.DataFrame, base_url: str = DEFAULT_BASE_URL, timeout: float = 60.0) -> pd.DataFrame:
    """Geocode addresses with one POST to ``<base_url>/search/csv/``.

    Parameters
    ----------
    addresses : pandas.DataFrame
        Columns ``query`` (key), ``street``, ``postcode``, ``town``.
    base_url : str
        Service root (default :data:`DEFAULT_BASE_URL`; tests use a local server).
    timeout : float
        Seconds.

    Returns
    -------
    pandas.DataFrame
        ``query``, ``lon``, ``lat``, ``score``, ``citycode`` (NaN / None when not found).

    Raises
    ------
    GeocoderUnavailable
        Network error, HTTP error, or an answer without the expected columns.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["qid", "adresse", "postcode", "city"])
    for i, r in enumerate(addresses.itertuples(index=False)):
        w.writerow([i, r.street or "", r.postcode or "", r.town or ""])
    body, ctype = _multipart(
        [("columns", "adresse"), ("columns", "city"), ("postcode", "postcode")],
        "data",
        "adresses.csv",
        buf.getvalue().encode("utf-8"),
    )
    url = base_url.rstrip("/") + "/search/csv/"
    req = urllib.request.Request(url, data=body, headers={"Content-Type": ctype}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            text = resp.read().decode("utf-8-sig")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise GeocoderUnavailable(f"géocodeur BAN injoignable ({url}) : {exc}") from exc
    try:
        res = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise GeocoderUnavailable(f"réponse illisible du géocodeur BAN : {exc}") from exc
    need = {"qid", "latitude", "longitude", "result_score", "result_citycode"}
    if not need <= set(res.columns):
        raise GeocoderUnavailable(
            f"réponse du géocodeur BAN sans les colonnes attendues ({', '.join(sorted(need - set(res.columns)))})"
        )
    num = lambda s: pd.to_numeric(s.str.strip().replace("", None), errors="coerce")  # noqa: E731
    idx = pd.to_numeric(res["qid"], errors="coerce")
    ok = idx.notna() & (idx >= 0) & (idx < len(addresses))
    res = res[ok]
    out = pd.DataFrame(
        {
            "query": addresses["query"].to_numpy()[idx[ok].astype(int).to_numpy()],
            "lon": num(res["longitude"]).to_numpy(),
            "lat": num(res["latitude"]).to_numpy(),
            "score": num(res["result_score"]).to_numpy(),
            "citycode": res["result_citycode"].str.strip().replace("", None).to_numpy(),
        }
    )
    return out.drop_duplicates("query")


def geocode_offers(
    con: duckdb.DuckDBPyConnection,
    located: pd.DataFrame,
    base_url: str = DEFAULT_BASE_URL,
    min_score: float = DEFAULT_MIN_SCORE,
    progress: Callable[[str, float | None], None] | None = None,
    fetch: Callable[..., pd.DataFrame] = ban_search_csv,
) -> pd.DataFrame:
    """Give street-level coordinates to located offers when the BAN finds their address.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Writable connection (the ``geocode_cache`` table is created and filled there).
    located : pandas.DataFrame
        Offers from :func:`analysis.sources.offers.locate` (``street``, ``postcode``, ``town``,
        ``commune_code``, ``lon``, ``lat``, ``location_precision``).
    base_url, min_score :
        Service root and lowest accepted score.
    progress : callable, optional
    fetch : callable
        The batch request (replaceable in tests).

    Returns
    -------
    pandas.DataFrame
        A copy of ``located`` where geocoded rows have the BAN position and
        ``location_precision = 'address'``; other rows are unchanged.
    """
    progress = progress or (lambda m, f=None: None)
    con.execute(CACHE_DDL)
    out = located.copy()
    has_street = out["street"].fillna("").str.strip() != ""
    if "location_precision" in out:
        has_street &= out["location_precision"].fillna("commune") == "commune"
    if not has_street.any():
        return out
    keys = pd.Series(
        [make_query(s, p, t) for s, p, t in zip(out["street"], out["postcode"], out["town"])], index=out.index
    )
    wanted = pd.DataFrame({"query": keys[has_street]}).drop_duplicates()
    con.register("gc_wanted", wanted)
    cached = con.execute("SELECT c.query FROM geocode_cache c JOIN gc_wanted w USING (query)").df()
    con.unregister("gc_wanted")
    missing = wanted[~wanted["query"].isin(set(cached["query"]))]
    if len(missing):
        first = out.loc[has_street].assign(query=keys[has_street]).drop_duplicates("query").set_index("query")
        todo = first.loc[missing["query"], ["street", "postcode", "town"]].reset_index()
        progress(f"Géocodage BAN de {count_of(len(todo), 'adresse')} ({base_url})…", None)
        fetched = []
        try:
            for start in range(0, len(todo), BATCH_SIZE):
                fetched.append(fetch(todo.iloc[start : start + BATCH_SIZE], base_url=base_url))
        except GeocoderUnavailable as exc:
            progress(f"Géocodage BAN indisponible, offres laissées à la mairie de leur commune : {exc}", None)
        if fetched:
            res = pd.concat(fetched, ignore_index=True)
            # addresses the service did not return are cached as "not found" too
            res = todo[["query"]].merge(res, on="query", how="left")
            res["fetched_at"] = dt.datetime.now().replace(microsecond=0)
            con.register("gc_res", res)
            con.execute(
                "INSERT OR REPLACE INTO geocode_cache SELECT query, lon, lat, score, citycode, fetched_at FROM gc_res"
            )
            con.unregister("gc_res")
    con.register("gc_keys", pd.DataFrame({"query": keys[has_street].unique()}))
    hits = con.execute(
        "SELECT c.* FROM geocode_cache c JOIN gc_keys k USING (query) WHERE c.lon IS NOT NULL AND c.score >= ?",
        [float(min_score)],
    ).df()
    con.unregister("gc_keys")
    if hits.empty:
        return out
    m = pd.DataFrame({"query": keys, "commune_code": out["commune_code"]}).merge(hits, on="query", how="left")
    m.index = out.index
    use = has_street & m["lon"].notna() & (m["citycode"] == m["commune_code"])
    out.loc[use, "lon"] = m.loc[use, "lon"].astype(float)
    out.loc[use, "lat"] = m.loc[use, "lat"].astype(float)
    out.loc[use, "location_precision"] = "address"
    progress(
        f"Géocodage BAN : {count_of(int(use.sum()), 'offre placée')} à l'adresse sur {int(has_street.sum())}", None
    )
    return out
