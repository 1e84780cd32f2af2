"""Repository hygiene: the plotly.js bundle is fetched at install (``ui.vendor``), not tracked;
no tracked file is over 1 MiB; a missing bundle is said on screen.

The tarballs below are SYNTHETIC fixtures (a few bytes of text packed like an npm package), so
nothing here needs the network; the pinned digest of the real bundle is checked against the
installed file when ``make install`` has run (as in CI)."""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from ui import charts, vendor

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
CONTENT = b"/* synthetic bundle (test fixture) */ var Plotly = {};\n"


def _tarball(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# the digest is computed here from the fixture's bytes, independently of ui.vendor
FAKE = replace(vendor.PLOTLY, sha256=hashlib.sha256(CONTENT).hexdigest())


class _Registry:
    """Stands for the npm registry: serves one tarball and counts the requests."""

    def __init__(self, tarball: bytes):
        self.tarball, self.urls = tarball, []

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        return self.tarball


def test_fetch_writes_the_member_and_then_keeps_it(tmp_path):
    reg = _Registry(_tarball({"package/LICENSE": b"MIT", "package/plotly-basic.min.js": CONTENT}))
    dest = tmp_path / "static" / "plotly-basic.min.js"
    assert vendor.fetch(FAKE, dest, download=reg) is True
    assert dest.read_bytes() == CONTENT
    assert reg.urls == ["https://registry.npmjs.org/plotly.js-basic-dist-min/-/plotly.js-basic-dist-min-4.1.1.tgz"]
    assert vendor.fetch(FAKE, dest, download=reg) is False  # current: no second download
    assert len(reg.urls) == 1
    assert [p.name for p in dest.parent.iterdir()] == [dest.name]  # no temporary file left


def test_a_tampered_download_fails_clearly_and_writes_nothing(tmp_path):
    reg = _Registry(_tarball({"package/plotly-basic.min.js": CONTENT + b"alert(1);"}))
    dest = tmp_path / "plotly-basic.min.js"
    with pytest.raises(vendor.VendorError) as err:
        vendor.fetch(FAKE, dest, download=reg)
    msg = str(err.value)
    assert "SHA-256" in msg and FAKE.sha256 in msg and "altéré" in msg and FAKE.url in msg
    assert not dest.exists() and list(tmp_path.iterdir()) == []


def test_a_stale_local_file_is_replaced(tmp_path):
    dest = tmp_path / "plotly-basic.min.js"
    dest.write_bytes(b"old version")
    reg = _Registry(_tarball({"package/plotly-basic.min.js": CONTENT}))
    assert vendor.fetch(FAKE, dest, download=reg) is True
    assert dest.read_bytes() == CONTENT


def test_archive_without_the_member_or_unreadable(tmp_path):
    reg = _Registry(_tarball({"package/README.md": b"x"}))
    with pytest.raises(vendor.VendorError, match="package/plotly-basic.min.js absent"):
        vendor.fetch(FAKE, tmp_path / "a.js", download=reg)
    with pytest.raises(vendor.VendorError, match="archive illisible"):
        vendor.fetch(FAKE, tmp_path / "a.js", download=_Registry(b"<html>not a tarball</html>"))


def test_network_failure_names_the_url(tmp_path):
    def offline(url):
        raise OSError("Network is unreachable")

    with pytest.raises(vendor.VendorError, match="téléchargement impossible de https://registry"):
        vendor.fetch(FAKE, tmp_path / "a.js", download=offline)


def test_installed_bundle_has_the_pinned_digest():
    """After ``make install`` the served file is the pinned one (skipped before install)."""
    path = ROOT / "static/vendor/plotly/plotly-basic.min.js"
    if not path.is_file():
        pytest.skip("bundle not fetched yet (make install)")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == vendor.PLOTLY.sha256
    assert b"plotly.js (basic - minified) v" + vendor.PLOTLY.version.encode() in path.read_bytes()[:200]


def test_pinned_version_is_the_python_plotly_one():
    """The figures' JSON comes from the Python ``plotly`` package: the bundle drawing them is
    the plotly.js version that package embeds (static/vendor/README.md says so)."""
    from plotly.offline import get_plotlyjs_version

    assert vendor.PLOTLY.version == get_plotlyjs_version()


def test_bundle_is_ignored_and_untracked_but_its_licence_is_tracked():
    git = ["git", "-C", str(ROOT)]
    if subprocess.run([*git, "rev-parse"], capture_output=True).returncode != 0:
        pytest.skip("not a git checkout")
    tracked = subprocess.run([*git, "ls-files", "static/vendor/plotly"], capture_output=True, text=True).stdout
    assert tracked.split() == ["static/vendor/plotly/LICENSE"]
    ignored = subprocess.run([*git, "check-ignore", "-q", vendor.PLOTLY.path])
    assert ignored.returncode == 0


def test_no_tracked_file_over_one_mib():
    git = ["git", "-C", str(ROOT)]
    out = subprocess.run([*git, "ls-files", "-z"], capture_output=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    names = [n for n in out.stdout.decode().split("\0") if n]
    assert len(names) > 100  # the listing really is the repository's
    big = {n: (ROOT / n).stat().st_size for n in names if (ROOT / n).is_file()}
    big = {n: s for n, s in big.items() if s > MiB}
    assert big == {}, f"tracked files over 1 MiB: {big}"


def test_missing_bundle_message_names_file_and_command(tmp_path):
    assert charts.missing_bundle_message(tmp_path / "here.js") is not None
    (tmp_path / "here.js").write_text("x")
    assert charts.missing_bundle_message(tmp_path / "here.js") is None
    msg = charts.missing_bundle_message(tmp_path / "absent.js")
    assert "static/vendor/plotly/plotly-basic.min.js" in msg and "make install" in msg
    assert msg.startswith("Fichier manquant")


def _chart_page():
    import plotly.graph_objects as go

    from ui import charts

    charts.plotly_chart(go.Figure(go.Bar(x=["a", "b"], y=[1, 2])), 200, title="Essai")


def test_chart_without_the_bundle_warns_and_still_draws(tmp_path, monkeypatch):
    """Someone skipped ``make install``: the page says which file and which command, and the
    chart is drawn with Streamlit's own Plotly (no exception, no blank frame)."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setattr(vendor, "PLOTLY", replace(vendor.PLOTLY, path="static/vendor/plotly/absent-for-test.js"))
    monkeypatch.setattr(charts, "static_serving", lambda: True)
    at = AppTest.from_function(_chart_page, default_timeout=60).run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 1
    assert "static/vendor/plotly/absent-for-test.js" in warnings[0] and "make install" in warnings[0]
    assert len(at.get("plotly_chart")) == 1 and len(at.get("iframe")) == 0


def test_chart_with_the_bundle_uses_it(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    (tmp_path / "b.js").write_text("x")
    monkeypatch.setattr(vendor, "ROOT", tmp_path)
    monkeypatch.setattr(vendor, "PLOTLY", replace(vendor.PLOTLY, path="b.js"))
    monkeypatch.setattr(charts, "static_serving", lambda: True)
    at = AppTest.from_function(_chart_page, default_timeout=60).run()
    assert not at.exception and len(at.warning) == 0
    assert len(at.get("plotly_chart")) == 0
