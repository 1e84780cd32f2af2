"""Source registry: every required dataset resolves in the mirror; fetch works against a local server."""

from __future__ import annotations

import dataclasses
import functools
import http.server
import io
import tarfile
import threading

import pytest

from analysis.errors import DataError
from analysis.sources import registry as sources


def test_registry_entries_are_complete():
    reg = sources.registry()
    assert len(reg) >= 15
    for ds in reg.values():
        assert ds.publisher and ds.licence and ds.vintage and ds.url, ds.dataset
        assert ds.fetch.split(":")[0] in {"file", "tgz", "manual", "bundled"}


def test_required_datasets_resolve_in_mirror(source_dir):
    for ds in sources.registry().values():
        if ds.required:
            assert sources.resolve(ds.dataset, source_dir) is not None, ds.dataset


def test_missing_required_dataset_names_folder_and_url(tmp_path):
    with pytest.raises(DataError) as err:
        sources.resolve("offers_platform", tmp_path)
    assert "internships/monstagedeseconde-offers-2025" in str(err.value)
    assert "raw.githubusercontent.com/betagouv" in str(err.value)


@pytest.fixture()
def local_server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield root, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def test_fetch_file_and_tarball_member(local_server, tmp_path, monkeypatch):
    root, base = local_server
    (root / "offers.csv").write_text("id;Ville\n1;Caen\n", encoding="utf-8")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        payload = b'[{"code": "14118"}]'
        info = tarfile.TarInfo("package/data/communes.json")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    (root / "pkg.tgz").write_bytes(buf.getvalue())
    reg = sources.registry()
    fake = {
        "offers_platform": dataclasses.replace(reg["offers_platform"], url=f"{base}/offers.csv"),
        "communes_cog": dataclasses.replace(reg["communes_cog"], url=f"{base}/pkg.tgz"),
    }
    monkeypatch.setattr(sources, "registry", lambda: fake)
    dest = tmp_path / "src"
    lines = sources.fetch(dest)
    assert len(lines) == 2
    got = dest / "internships/monstagedeseconde-offers-2025/07_05_2025_data_bc_normandie.csv"
    assert got.read_text(encoding="utf-8") == "id;Ville\n1;Caen\n"
    assert (dest / "communes/etalab-decoupage-administratif/communes.json").read_bytes() == b'[{"code": "14118"}]'
    # the fetched files are found where the build looks for them
    assert sources.resolve("offers_platform", dest) == got
