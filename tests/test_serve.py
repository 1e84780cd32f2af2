"""The launcher ``ui/serve.py``: Streamlit's page shell served in French (hand-made files, and
the installed Streamlit's own ``index.html``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ui import serve


def test_french_index_sets_lang_and_title_once():
    html = '<!doctype html><html lang="en"><head><title>Streamlit</title></head><body lang="en"></body></html>'
    out = serve.french_index(html)
    assert out == (
        '<!doctype html><html lang="fr"><head><title>Observatoire des stages — Normandie</title></head>'
        '<body lang="en"></body></html>'
    )


def test_french_index_refuses_a_shell_it_does_not_know():
    with pytest.raises(ValueError, match="inattendues"):
        serve.french_index("<html><head><title>Autre</title></head></html>")


def test_installed_streamlit_shell_is_the_one_the_rewrite_expects():
    """Fails when a new Streamlit release changes its index.html: check the rewrite then."""
    from streamlit import file_util

    html = (Path(file_util.get_static_dir()) / "index.html").read_text("utf-8")
    assert '<html lang="fr">' in serve.french_index(html)


def test_french_static_dir_links_everything_but_the_shell(tmp_path):
    orig = tmp_path / "orig"
    (orig / "static" / "js").mkdir(parents=True)
    (orig / "static" / "js" / "a.js").write_text("x")
    (orig / "favicon.png").write_bytes(b"\x89PNG")
    (orig / "index.html").write_text('<html lang="en"><title>Streamlit</title></html>')
    out = serve.french_static_dir(orig, tmp_path / "fr")
    assert sorted(p.name for p in out.iterdir()) == ["favicon.png", "index.html", "static"]
    assert (out / "static" / "js" / "a.js").read_text() == "x" and (out / "favicon.png").is_symlink()
    assert not (out / "index.html").is_symlink()
    assert '<html lang="fr">' in (out / "index.html").read_text()
    assert '<html lang="en">' in (orig / "index.html").read_text()  # Streamlit's own file untouched
