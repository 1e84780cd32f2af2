r"""Hostile text: the one place where untrusted text is made safe for its destination.

Every text read from a file, an upload, the database or a URL may be hostile. Three
destinations matter, each with one function used everywhere:

- HTML (tooltips, popups, legends, HTML tables, SVG charts): :func:`html_text` escapes
  ``& < > " '`` so that a value is always shown as text, never interpreted as markup, and
  also `` ` $ \`` (as character references, shown the same): folium writes tooltip and
  popup HTML inside JavaScript template literals (backquotes), where ``${...}`` would run;
- JavaScript (data literals inside ``<script>``): :func:`js_literal` writes JSON whose
  ``< > & '`` are Unicode escapes, so that a value can neither close the script element nor
  break out of a string;
- Markdown (Streamlit's ``st.markdown``, ``st.warning``, ``st.caption``, titles: links, images and
  emphasis are syntax there, even without HTML): :func:`markdown_text` backslash-escapes every
  ASCII punctuation character, so that ``[x](http://…)`` or ``![x](http://…)`` from a URL or a
  name is shown as typed, never as a link or an image; :func:`markdown_html_text` is the same for
  Markdown that also allows HTML (HTML-escaped, the Markdown characters as character references);
- spreadsheets (CSV and XLSX exports): :func:`spreadsheet_text` neutralises a text cell that
  a spreadsheet program would take for a formula (OWASP "CSV injection" rule: a leading
  ``= + - @``, tab or carriage return gets a leading apostrophe).

At import, :func:`text_problem` says why a field is refused (markup characters ``<`` or
``>``, control characters including NUL): such values are quarantined with that reason
(:func:`analysis.sources.validation.check_text`), so they never reach the database in the first
place. Escaping on output stays on regardless (defence in depth: build sources, file names,
older databases).

See ``docs/security.md`` for the promises and the tests that check them.
"""

from __future__ import annotations

import html
import json
import math
import re
from typing import Any

#: Characters refused in imported text: markup delimiters.
MARKUP_CHARS = "<>"
#: Control characters refused in imported text (C0 except tab, LF and CR; DEL; C1) and the
#: Unicode line / paragraph separators, which break JavaScript strings in older engines.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
#: Tab, LF and CR are refused inside a field too (a field is one line of text).
_LINE_BREAKS = re.compile(r"[\t\n\r]")
#: Any character refused in imported text (markup, control, line breaks): one search per value.
REFUSED_CHARS = re.compile(r"[<>\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: First characters that make a spreadsheet cell a formula (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


#: Characters that matter inside a JavaScript template literal, as HTML character references.
_TEMPLATE_LITERAL = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})


def html_text(value: Any) -> str:
    """``value`` as HTML text, safe in element content and in quoted attributes.

    None and missing values (NaN, ``pd.NA``) give an empty string.

    Examples
    --------
    >>> html_text('Giberville <img src=x onerror="alert(1)">')
    'Giberville &lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    """
    if value is None or _is_missing(value):
        return ""
    return html.escape(str(value), quote=True).translate(_TEMPLATE_LITERAL)


#: Markdown-significant characters written as character references by :func:`markdown_html_text`
#: (``& < > " ' ` $ \\`` are already references after :func:`html_text`).
_MARKDOWN_REFS = str.maketrans({ch: f"&#{ord(ch)};" for ch in "[]()!*_~|:@{}+-.=^"})
#: ASCII punctuation (CommonMark: any of it may be backslash-escaped, and is then literal).
_ASCII_PUNCT = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")


def markdown_text(value: Any) -> str:
    """``value`` as literal text in Markdown (Streamlit's markdown, warnings, captions, titles).

    Every ASCII punctuation character is backslash-escaped (CommonMark: it is then shown as
    itself and starts no construct): no link, image, emphasis, heading, HTML tag, Streamlit
    directive (``:red[…]``, ``:material/…:``) or LaTeX (``$…$``). Automatic links (``http://``,
    ``www.``, e-mail addresses), which Markdown finds in the text once escapes are read, are
    broken by an invisible word joiner (U+2060) after ``http``, ``www`` and ``@``. Line breaks
    become spaces (a value is one line). None and missing values give an empty string.

    Examples
    --------
    >>> markdown_text("[Session expirée](http://x.fr)")
    '\\\\[Session expirée\\\\]\\\\(http\u2060\\\\:\\\\/\\\\/x\\\\.fr\\\\)'
    """
    if value is None or _is_missing(value):
        return ""
    return _ASCII_PUNCT.sub(r"\\\1", _break_autolinks(_LINE_BREAKS.sub(" ", str(value))))


def markdown_unescape(markdown: str) -> str:
    """The text a reader sees for ``markdown`` made by :func:`markdown_text` (backslash escapes
    read, word joiners dropped): what a test compares with when it reads Streamlit's Markdown
    source (``AppTest`` values).

    Examples
    --------
    >>> markdown_unescape(markdown_text("Cherbourg-en-Cotentin (50129)"))
    'Cherbourg-en-Cotentin (50129)'
    """
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace(WORD_JOINER, "")


def markdown_html_text(value: Any) -> str:
    """``value`` as literal text in Markdown that allows HTML (``unsafe_allow_html``): HTML-escaped
    (:func:`html_text`), line breaks as spaces (a blank line would end an HTML block and let
    Markdown read what follows), and the Markdown characters as character references (shown as
    themselves, never syntax: no link, image or emphasis).

    Examples
    --------
    >>> markdown_html_text("![x](http://e.fr) <b>")
    '&#33;&#91;x&#93;&#40;http\u2060&#58;//e&#46;fr&#41; &lt;b&gt;'
    """
    if isinstance(value, str):
        value = _break_autolinks(_LINE_BREAKS.sub(" ", value))
    return html_text(value).translate(_MARKDOWN_REFS)


#: Where GitHub-flavoured Markdown finds a link in plain text: ``http://``, ``https://``,
#: ``www.`` and e-mail addresses (``a@b.fr``).
_AUTOLINK_STARTS = re.compile(r"(?i)(?<![^\W_])(?:https?(?=:)|www(?=\.))|@")
#: U+2060 WORD JOINER: invisible, and not a character of a link.
WORD_JOINER = "\u2060"


def _break_autolinks(text: str) -> str:
    """``text`` with a word joiner after each ``http``, ``https`` or ``www`` that starts a link
    and after each ``@``: Streamlit's Markdown (remark-gfm) finds links in the *text*, once the
    escapes are read, so escaping alone does not stop ``http\\://x.fr`` from becoming a link."""
    return _AUTOLINK_STARTS.sub(lambda m: m.group(0) + WORD_JOINER, text)


def html_block_text(value: Any) -> str:
    """:func:`html_text` on one line (line breaks as spaces), for a cell of an HTML table shown
    with ``st.markdown(..., unsafe_allow_html=True)``: Markdown leaves an HTML block alone up to
    its first blank line, so a value holding one could end the block and have the rest read as
    Markdown (a link, an image)."""
    if isinstance(value, str):
        value = _LINE_BREAKS.sub(" ", value)
    return html_text(value)


def js_literal(obj: Any) -> str:
    """``obj`` as a JavaScript literal (JSON) safe inside a ``<script>`` element.

    Examples
    --------
    >>> js_literal("</script><script>alert(1)</script>")
    '"\\\\u003c/script\\\\u003e\\\\u003cscript\\\\u003ealert(1)\\\\u003c/script\\\\u003e"'
    """
    return (
        json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def spreadsheet_text(value: Any) -> Any:
    """A cell value safe to write in a CSV or XLSX export.

    Text starting with ``= + - @``, tab or carriage return gets a leading apostrophe (shown
    as text by spreadsheet programs, never evaluated); other values (numbers, dates, None,
    other text) are returned unchanged, so that numbers stay numbers.

    Examples
    --------
    >>> spreadsheet_text("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> spreadsheet_text(-3.5)
    -3.5
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def text_problem(value: str | None) -> str | None:
    """Why an imported text value is refused (French reason), or None when it is acceptable.

    Refused: markup characters (``<``, ``>``), control characters (NUL and the other C0 / C1
    codes, DEL), line breaks and tabs inside a field.
    """
    if not value or not REFUSED_CHARS.search(value):
        return None
    for ch in MARKUP_CHARS:
        if ch in value:
            return f"caractère « {ch} » interdit (balises HTML refusées) : retirez les signes < et > de ce champ"
    m = _CONTROL.search(value)
    if m:
        return (
            f"caractère de contrôle interdit (U+{ord(m.group()):04X}) en position "
            f"{m.start() + 1} : fichier corrompu ou copié d'un autre logiciel ?"
        )
    m = _LINE_BREAKS.search(value)
    if m:
        what = "tabulation" if m.group() == "\t" else "retour à la ligne"
        return f"{what} interdit(e) dans un champ (position {m.start() + 1}) : écrivez la valeur sur une ligne"
    return None


def strip_control(value: str) -> str:
    """``value`` without control characters (for names that are only logged or shown, like
    an uploaded file name); tabs and line breaks become spaces."""
    return _CONTROL.sub("", _LINE_BREAKS.sub(" ", value))


def safe_file_name(name: str | None, limit: int = 120) -> str:
    """An uploaded file's name as recorded: the last path component, without control or
    markup characters, at most ``limit`` characters (the extension is kept)."""
    base = re.split(r"[\\/]", str(name or ""))[-1]
    base = strip_control(base)
    for ch in MARKUP_CHARS + '"':
        base = base.replace(ch, "_")
    base = base.strip() or "fichier"
    if len(base) > limit:
        stem, dot, ext = base.rpartition(".")
        ext = ext if dot and len(ext) <= 8 else ""
        base = base[: limit - len(ext) - 2] + "…" + (("." + ext) if ext else "")
    return base


def _is_missing(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    try:
        import pandas as pd

        return value is pd.NA or value is pd.NaT
    except ImportError:  # pragma: no cover
        return False
