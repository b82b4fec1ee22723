import base64

import pytest

from reportgen.fetcher import ResourceRefused, SafeFetcher


@pytest.fixture
def roots(tmp_path):
    allowed = tmp_path / "assets"
    allowed.mkdir()
    (allowed / "style.css").write_text("p { color: red }")
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    (allowed / "link.css").symlink_to(secret)
    return allowed, secret


def test_allows_files_inside_roots(roots):
    allowed, _ = roots
    f = SafeFetcher([allowed])
    resp = f.fetch((allowed / "style.css").as_uri())
    assert resp.read() if hasattr(resp, "read") else True
    assert f.fetched == [str((allowed / "style.css").resolve())]


@pytest.mark.parametrize("url", [
    "http://example.org/x.png",
    "https://example.org/x.css",
    "ftp://example.org/x",
    "javascript:alert(1)",
    "gopher://x",
])
def test_refuses_network_and_other_schemes(roots, url):
    with pytest.raises(ResourceRefused, match="not allowed"):
        SafeFetcher([roots[0]]).fetch(url)


def test_refuses_files_outside_roots_and_symlinks_escaping(roots):
    allowed, secret = roots
    f = SafeFetcher([allowed])
    with pytest.raises(ResourceRefused, match="outside"):
        f.fetch(secret.as_uri())
    with pytest.raises(ResourceRefused, match="outside"):
        f.fetch((allowed / "link.css").as_uri())
    with pytest.raises(ResourceRefused, match="outside"):
        f.fetch((allowed / ".." / "secret.txt").as_uri())
    with pytest.raises(ResourceRefused, match="another host"):
        f.fetch("file://evil.example/etc/passwd")


def test_data_urls_are_capped(roots):
    f = SafeFetcher([roots[0]], max_data_bytes=100)
    small = "data:image/svg+xml;base64," + base64.b64encode(b"<svg/>").decode()
    assert f.fetch(small).status == 200
    big = "data:text/plain;base64," + base64.b64encode(b"x" * 101).decode()
    with pytest.raises(ResourceRefused, match="larger"):
        f.fetch(big)
