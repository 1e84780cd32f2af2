"""Accessibility (RGAA) of every page, set up in one place (:func:`page_chrome`, called by
:func:`ui.core.page_setup`).

Streamlit serves one ``index.html`` declaring ``<html lang="en">`` and gives its component
frames titles such as ``st.iframe``. The snippet added to each page (``st.html`` with its
script: not in a frame, so it acts on the page itself) therefore:

- sets ``lang="fr"`` on the page, and on every same-origin frame (maps, charts) with a
  ``<title>`` when the frame has none, and a French ``title`` on every ``<iframe>`` element
  (the frame's own title when it sets one, see :func:`frame_script`);
- adds a skip link ("Aller au contenu") as the first stop of the Tab key, moving the focus to
  the page title;
- makes every scrolling region (tables in a scroll box, code blocks) reachable and scrollable
  from the keyboard (``tabindex="0"``, ``role="region"`` and a French name);
- styles a visible focus outline, and darker colours for captions and code (contrast ≥ 4.5:1
  on the white page and on the grey sidebar).

The checks are in ``tests/test_accessibility.py``; what they cannot check, in
``docs/accessibility.md``.
"""

from __future__ import annotations

import json
import re

#: Streamlit's captions are drawn at opacity 0.6 (2.8:1 on white, measured by axe): opaque,
#: this grey is 7.0:1 on white and 6.3:1 on the sidebar's ``#f0f2f6``.
CAPTION_COLOUR = "#555862"
#: Focus outline colour (the theme's primary colour, 5.2:1 on white).
FOCUS_COLOUR = "#0072B2"
#: Text of the skip link.
SKIP_LABEL = "Aller au contenu"
#: Default titles of frames that set none themselves, by kind.
FRAME_TITLES = {"map": "Carte interactive", "chart": "Graphique", "other": "Contenu intégré"}

CSS = f"""
<style>
.obs-skip {{position:fixed;left:8px;top:-200px;z-index:1000001;background:#ffffff;
  color:#0b4f8a;padding:10px 16px;border:3px solid {FOCUS_COLOUR};border-radius:4px;
  font-weight:600;text-decoration:underline}}
.obs-skip:focus {{top:8px}}
*:focus-visible {{outline:3px solid {FOCUS_COLOUR} !important;outline-offset:2px !important}}
[data-testid="stCaptionContainer"] {{opacity:1 !important}}
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p,
[data-testid="stCaptionContainer"] li {{color:{CAPTION_COLOUR} !important}}
[data-testid="stCode"] code, [data-testid="stCode"] .token {{color:#1f2430 !important}}
[data-testid="stCode"] .token.keyword, [data-testid="stCode"] .token.boolean
  {{color:#6b1d74 !important}}
[data-testid="stCode"] .token.string {{color:#1b5e20 !important}}
[data-testid="stCode"] .token.number {{color:#7a3e00 !important}}
[data-testid="stCode"] .token.comment {{color:#4d5361 !important}}
.element-container:has(#obs-a11y), .stElementContainer:has(#obs-a11y) {{display:none}}
</style>
"""

_JS = """
<script>
(function () {
  var doc = document;
  doc.documentElement.setAttribute('lang', 'fr');
  if (window.__obsA11y) { window.__obsA11y(); return; }
  var TITLES = %(titles)s;
  var SKIP = %(skip)s;

  function skipLink() {
    if (doc.querySelector('a.obs-skip')) { return; }
    var a = doc.createElement('a');
    a.className = 'obs-skip';
    a.href = '#stMain';
    a.textContent = SKIP;
    a.addEventListener('click', function (e) {
      e.preventDefault();
      var main = doc.querySelector('[data-testid="stMain"]') || doc.querySelector('main');
      var target = main && (main.querySelector('h1') || main);
      if (!target) { return; }
      if (!target.hasAttribute('tabindex')) { target.setAttribute('tabindex', '-1'); }
      target.focus();
      target.scrollIntoView({block: 'start'});
    });
    doc.body.insertBefore(a, doc.body.firstChild);
  }

  function frameKind(f) {
    var src = f.getAttribute('src') || '';
    if (src.indexOf('st_folium') >= 0) { return 'map'; }
    if (f.hasAttribute('srcdoc')) { return 'chart'; }
    return 'other';
  }

  function fixFrame(f) {
    var own = '';
    try {
      var d = f.contentDocument;
      if (d && d.documentElement) {
        if (d.documentElement.getAttribute('lang') !== 'fr') {
          d.documentElement.setAttribute('lang', 'fr');
        }
        own = (f.getAttribute('data-obs-title') || d.title || '').trim();
        if (!own || own === 'Streamlit Folium Component') {
          own = TITLES[frameKind(f)];
          d.title = own;
        }
      }
    } catch (e) { /* cross-origin frame: title only */ }
    var title = own || f.getAttribute('data-obs-title') || TITLES[frameKind(f)];
    if (f.getAttribute('title') !== title) { f.setAttribute('title', title); }
  }

  function nearestHeading(el) {
    // the closest heading before the element's block, in document order
    var box = el.closest('.stElementContainer, .element-container') || el;
    while (box && box !== doc.body) {
      var sib = box.previousElementSibling;
      while (sib) {
        var hs = sib.matches('h1, h2, h3, h4') ? [sib] : sib.querySelectorAll('h1, h2, h3, h4');
        if (hs.length) { return hs[hs.length - 1].textContent.trim(); }
        sib = sib.previousElementSibling;
      }
      box = box.parentElement;
    }
    return '';
  }

  function regionName(el) {
    var cap = el.getAttribute('data-obs-label');
    if (cap) { return cap; }
    var n = el.querySelector('caption');
    if (n && n.textContent.trim()) { return n.textContent.trim(); }
    var kind = el.tagName === 'PRE' ? 'Bloc de code défilant' : 'Tableau défilant';
    var h = nearestHeading(el);
    return h ? kind + ' : ' + h : kind;
  }

  function fixRegions() {
    var boxes = doc.querySelectorAll('.obs-table-box, [data-testid="stCode"] pre, pre');
    for (var i = 0; i < boxes.length; i++) {
      var el = boxes[i];
      var scrolls = el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1;
      if (scrolls && !el.hasAttribute('tabindex')) {
        el.setAttribute('tabindex', '0');
        el.setAttribute('role', 'region');
        if (!el.hasAttribute('aria-label')) { el.setAttribute('aria-label', regionName(el)); }
      }
    }
  }

  function fixNames() {
    // Streamlit's own skip link (English, to #stMain, after ours): out of the Tab order
    var theirs = doc.querySelector('[data-testid="stSkipToContent"]');
    if (theirs && theirs.getAttribute('tabindex') !== '-1') {
      theirs.setAttribute('tabindex', '-1');
      theirs.setAttribute('aria-hidden', 'true');
    }
    // the skip link's target: the content's title once drawn (a target that exists)
    var mine = doc.querySelector('a.obs-skip');
    var h1 = doc.querySelector('[data-testid="stMain"] h1[id]');
    var href = '#' + (h1 ? h1.id : 'stMain');
    if (mine && mine.getAttribute('href') !== href) { mine.setAttribute('href', href); }
    // Streamlit's sidebar buttons (English names)
    var named = {'[data-testid="stExpandSidebarButton"]': 'Ouvrir le menu latéral',
                 '[data-testid="stSidebarCollapseButton"] button': 'Fermer le menu latéral'};
    for (var sel in named) {
      var b = doc.querySelector(sel);
      if (b && b.getAttribute('aria-label') !== named[sel]) {
        b.setAttribute('aria-label', named[sel]);
        b.setAttribute('title', named[sel]);
      }
    }
    // help icons ("Help for" + label) and the file uploader's button, whose French text
    // « Parcourir » is CSS generated content (ui.core.french_file_uploader), not a name for axe
    var helps = doc.querySelectorAll('button[aria-label^="Help for "]');
    for (var h = 0; h < helps.length; h++) {
      helps[h].setAttribute('aria-label',
                            'Aide : ' + helps[h].getAttribute('aria-label').slice(9));
    }
    var up = doc.querySelectorAll('[data-testid="stFileUploaderDropzone"] button:not([aria-label])');
    for (var u = 0; u < up.length; u++) { up[u].setAttribute('aria-label', 'Parcourir'); }
    // Streamlit's heading anchors ("Link to heading")
    var links = doc.querySelectorAll('[data-testid="stHeaderActionElements"] a');
    for (var i = 0; i < links.length; i++) {
      if (links[i].getAttribute('aria-label') !== 'Lien vers ce titre') {
        links[i].setAttribute('aria-label', 'Lien vers ce titre');
        links[i].setAttribute('title', 'Lien vers ce titre');
      }
    }
  }

  function fixAll() {
    doc.documentElement.setAttribute('lang', 'fr');
    skipLink();
    fixNames();
    var frames = doc.querySelectorAll('iframe');
    for (var i = 0; i < frames.length; i++) {
      var f = frames[i];
      if (!f.__obsLoad) {
        f.__obsLoad = true;
        f.addEventListener('load', function (e) { fixFrame(e.target); });
      }
      fixFrame(f);
    }
    fixRegions();
  }

  var pending = false;
  function schedule() {
    if (pending) { return; }
    pending = true;
    setTimeout(function () { pending = false; fixAll(); }, 50);
  }
  window.__obsA11y = fixAll;
  // a sandboxed frame (maps: opaque origin) sends its title and its drawn time (read by
  // bench/browser.py); only its own iframe gets them
  window.addEventListener('message', function (e) {
    var t = e.data && e.data.obsFrameTitle, drawn = e.data && e.data.obsDrawn;
    if (typeof t !== 'string' && typeof drawn !== 'number') { return; }
    var frames = doc.querySelectorAll('iframe');
    for (var i = 0; i !== frames.length; i++) {
      if (frames[i].contentWindow !== e.source) { continue; }
      if (typeof drawn === 'number') { frames[i].setAttribute('data-obs-drawn', String(drawn)); }
      if (typeof t === 'string') {
        frames[i].setAttribute('data-obs-title', t.slice(0, 200));
        fixFrame(frames[i]);
      }
    }
  });
  // attributes too: a re-render may put Streamlit's English names back
  new MutationObserver(schedule).observe(doc.body, {childList: true, subtree: true,
                                                    attributes: true,
                                                    attributeFilter: ['aria-label']});
  window.addEventListener('resize', schedule);
  // frames drawn late (maps, charts) set their own title: re-read them a few times
  var n = 0;
  var timer = setInterval(function () { fixAll(); if (++n > 20) { clearInterval(timer); } }, 500);
  fixAll();
})();
</script>
"""


def relative_luminance(colour: str) -> float:
    """WCAG 2.1 relative luminance of a ``#rrggbb`` colour (0 black … 1 white)."""
    hex_ = colour.lstrip("#")
    rgb = [int(hex_[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_ratio(fg: str, bg: str) -> float:
    """WCAG 2.1 contrast ratio of two ``#rrggbb`` colours (1 … 21; text needs ≥ 4.5)."""
    a, b = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def text_colour(fill: str) -> str:
    """Black or white, whichever contrasts more with ``fill`` (``#rrggbb``)."""
    return "#000000" if contrast_ratio("#000000", fill) >= contrast_ratio("#ffffff", fill) else "#ffffff"


def chrome_html() -> str:
    """The CSS and script added once to each page (see the module docstring); a marker element
    ``#obs-a11y`` lets the CSS hide the (empty) block that holds them."""
    script = _JS % {
        "titles": json.dumps(FRAME_TITLES, ensure_ascii=False),
        "skip": json.dumps(SKIP_LABEL, ensure_ascii=False),
    }
    body = script.split("<script>", 1)[1].rsplit("</script>", 1)[0]
    # st.html sanitises with DOMPurify, which drops a <script> whose text looks like markup
    # (a "<" followed by a letter, "/" or "!", even in a comment): the page then stays "en"
    if re.search(r"<[/\w!]", body):
        raise ValueError("le script d'accessibilité contient « <lettre » : DOMPurify le retirerait")
    return CSS + '<span id="obs-a11y" hidden></span>' + script


def page_chrome() -> None:
    """Add :func:`chrome_html` to the current page (``st.html`` with its script)."""
    import streamlit as st

    st.html(chrome_html(), unsafe_allow_javascript=True)


def frame_script(title: str) -> str:
    """JavaScript run inside a map or chart frame: French language, the frame's ``<title>``
    and the title of its ``<iframe>`` element in the page: set directly when the frame is of the
    page's origin (charts), else sent to the page (``postMessage``, read by :func:`chrome_html`'s
    script): the map frames are sandboxed in an opaque origin (``ui.serve``)."""
    t = json.dumps(title, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
    return (
        "(function () { var t = " + t + "; document.documentElement.setAttribute('lang', 'fr');"
        " document.title = t; try { if (window.frameElement) {"
        " window.frameElement.setAttribute('title', t);"
        " window.frameElement.setAttribute('data-obs-title', t); } } catch (e) {}"
        " try { window.parent.postMessage({obsFrameTitle: t}, '*'); } catch (e) {} })();"
    )


# --------------------------------------------------------------------------------------------
# accessibility statement (page « Accessibilité ») and its footer mention
# --------------------------------------------------------------------------------------------

#: Conformance state of the statement. RGAA: a service without a valid audit of the 106 RGAA
#: criteria is declared "non conforme", whatever automatic checks it passes.
CONFORMANCE = "non conforme"
#: Page file and French title of the statement (registered in ``ui.navigation.PAGES``).
STATEMENT_PAGE = "pages/9_Accessibilite.py"
STATEMENT_TITLE = "Déclaration d'accessibilité"
#: Environment variable holding the accessibility contact (e-mail or form address) of the body
#: that puts the service online; the statement says so when it is not set.
CONTACT_ENV = "OBSERVATOIRE_CONTACT_ACCESSIBILITE"


def contact() -> str | None:
    """The accessibility contact configured for this deployment (``$OBSERVATOIRE_CONTACT_ACCESSIBILITE``)."""
    from analysis import settings

    value = (settings.current().contact_accessibility or "").strip()
    return value or None


def footer() -> None:
    """The footer mention "Accessibilité : <état>" linking to the statement (RGAA: on every
    page); nothing when the statement page is absent."""
    from pathlib import Path

    import streamlit as st

    root = Path(__file__).resolve().parent.parent
    if not (root / STATEMENT_PAGE).exists():
        return
    st.divider()
    st.page_link(STATEMENT_PAGE, label=f"Accessibilité : {CONFORMANCE}", icon=":material/accessibility_new:")
