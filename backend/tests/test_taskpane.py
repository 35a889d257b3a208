"""The taskpane's files on the wire: precompressed encodings, caching by content hash or ETag, Vary."""

import gzip

import pytest

from crmbridge import create_app

SCRIPT = b"export const answer = 42;\n" * 200
PAGE = b"<!doctype html><title>crmbridge</title><script type=module src=static/main-ABCDEFGH.js></script>"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(300)
BROTLI_STANDIN = b"brotli bytes"  # the server sends the precompressed file as it is; it never decodes it


@pytest.fixture
def site(tmp_path):
    """A built site as scripts/lib/build-taskpane.mjs lays it out."""
    (tmp_path / "static").mkdir()
    (tmp_path / "assets").mkdir()
    files = {"taskpane.html": PAGE, "static/main-ABCDEFGH.js": SCRIPT}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        (tmp_path / f"{name}.gz").write_bytes(gzip.compress(data, mtime=0))
        (tmp_path / f"{name}.br").write_bytes(BROTLI_STANDIN + name.encode())
    (tmp_path / "assets" / "icon-16.png").write_bytes(PNG)
    (tmp_path / "plain.txt").write_bytes(b"no compressed sibling")
    return tmp_path


@pytest.fixture
def static_client(site, database_url):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret-key",
                      "TASKPANE_DIR": str(site)})
    return app.test_client()


def get(client, path, **headers):
    response = client.get(path, headers=headers)
    response.direct_passthrough = False  # read a streamed file into the response, so it is closed here
    data = response.get_data()
    response.close()
    return response, data


def test_brotli_is_sent_when_the_browser_accepts_it(static_client):
    response, data = get(static_client, "/taskpane/static/main-ABCDEFGH.js", **{"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "br"
    assert data == BROTLI_STANDIN + b"static/main-ABCDEFGH.js"
    assert response.mimetype in ("text/javascript", "application/javascript")
    assert "Accept-Encoding" in response.headers["Vary"]


def test_gzip_is_sent_when_brotli_is_not_accepted(static_client):
    response, data = get(static_client, "/taskpane/taskpane.html", **{"Accept-Encoding": "gzip, deflate"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(data) == PAGE
    assert response.mimetype == "text/html"


@pytest.mark.parametrize("accept", [None, "identity", "br;q=0, gzip;q=0"])
def test_the_plain_file_is_sent_to_a_browser_that_accepts_no_compression(static_client, accept):
    headers = {"Accept-Encoding": accept} if accept else {}
    response, data = get(static_client, "/taskpane/static/main-ABCDEFGH.js", **headers)
    assert "Content-Encoding" not in response.headers
    assert data == SCRIPT
    assert "Accept-Encoding" in response.headers["Vary"]  # a shared cache must not hand this to a brotli client


def test_content_hashed_files_are_cached_for_a_year_as_immutable(static_client):
    response, _ = get(static_client, "/taskpane/static/main-ABCDEFGH.js", **{"Accept-Encoding": "br"})
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # Never revalidated (a new build has new names): no validators, no download name, on every cold open's bytes.
    for header in ("ETag", "Last-Modified", "Content-Disposition"):
        assert header not in response.headers


@pytest.mark.parametrize("path", ["/taskpane/static/main-ABCDEFGH.js", "/taskpane/assets/icon-16.png"])
def test_files_the_page_loads_carry_no_content_security_policy_but_keep_nosniff(static_client, path):
    # A policy governs the document that loads them; on a script or an image it is only bytes on every open.
    response, _ = get(static_client, path, **{"Accept-Encoding": "br"})
    assert response.status_code == 200
    assert "Content-Security-Policy" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    if path.endswith(".js"):
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


@pytest.mark.parametrize("path", ["/taskpane/taskpane.html", "/taskpane/"])
def test_the_page_itself_carries_the_content_security_policy(static_client, path):
    response, _ = get(static_client, path, **{"Accept-Encoding": "br"})
    assert "frame-ancestors" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("path", ["/taskpane/taskpane.html", "/taskpane/", "/taskpane/assets/icon-16.png"])
def test_stable_names_are_revalidated_with_their_etag(static_client, path):
    first, _ = get(static_client, path, **{"Accept-Encoding": "br, gzip"})
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "no-cache"
    etag = first.headers["ETag"]

    again, data = get(static_client, path, **{"Accept-Encoding": "br, gzip", "If-None-Match": etag})
    assert again.status_code == 304 and data == b""
    assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == "no-cache"


def test_each_encoding_has_its_own_etag(static_client):
    brotli, _ = get(static_client, "/taskpane/taskpane.html", **{"Accept-Encoding": "br"})
    gzipped, _ = get(static_client, "/taskpane/taskpane.html", **{"Accept-Encoding": "gzip"})
    plain, _ = get(static_client, "/taskpane/taskpane.html")
    assert len({brotli.headers["ETag"], gzipped.headers["ETag"], plain.headers["ETag"]}) == 3
    # A gzip ETag never revalidates the brotli copy.
    stale, _ = get(static_client, "/taskpane/taskpane.html",
                   **{"Accept-Encoding": "br", "If-None-Match": gzipped.headers["ETag"]})
    assert stale.status_code == 200 and stale.headers["Content-Encoding"] == "br"


def test_images_are_never_compressed_again(static_client):
    response, data = get(static_client, "/taskpane/assets/icon-16.png", **{"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200 and data == PNG
    assert "Content-Encoding" not in response.headers
    assert "Accept-Encoding" not in response.headers.get("Vary", "")
    assert response.mimetype == "image/png"


def test_a_file_without_compressed_siblings_does_not_vary(static_client):
    response, data = get(static_client, "/taskpane/plain.txt", **{"Accept-Encoding": "br"})
    assert data == b"no compressed sibling" and "Content-Encoding" not in response.headers
    assert "Accept-Encoding" not in response.headers.get("Vary", "")


@pytest.mark.parametrize("path", ["/taskpane/taskpane.html.br", "/taskpane/static/main-ABCDEFGH.js.gz",
                                  "/taskpane/../taskpane.html", "/taskpane/static/missing-ABCDEFGH.js"])
def test_compressed_files_by_their_own_name_and_paths_outside_the_site_are_not_found(static_client, path):
    response, _ = get(static_client, path)
    assert response.status_code == 404
