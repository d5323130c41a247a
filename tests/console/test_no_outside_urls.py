"""The console runs on machines without internet: its templates and static files name no URL
that a browser would fetch. The only URLs in them are license texts and XML namespace names.
"""

from __future__ import annotations

import re
from pathlib import Path

from chargeback.console.web import STATIC_DIR

WEB_DIR = STATIC_DIR.parent
URL = re.compile(r"https?://[^\s\"'`<>()\\]+", re.IGNORECASE)
# A protocol-relative address (src="//host/...", url(//host/...)) loads from another host too.
RELATIVE_HOST = re.compile(
    r"""(?:(?:src|href|action)\s*=\s*["']?|url\(\s*["']?)//""", re.IGNORECASE
)
ECHARTS = "static/vendor/echarts"

# Each URL that may appear, where, and why it is never fetched.
ALLOWED = {
    # The license header and zrender's license notice inside the minified bundle.
    (f"{ECHARTS}/echarts.min.js", "http://www.apache.org/licenses/LICENSE-2.0"),
    (f"{ECHARTS}/echarts.min.js", "https://github.com/ecomfe/zrender/blob/master/LICENSE"),
    # XML namespace names of the SVG renderer: identifiers, not addresses.
    (f"{ECHARTS}/echarts.min.js", "http://www.w3.org/1999/xlink"),
    (f"{ECHARTS}/echarts.min.js", "http://www.w3.org/2000/svg"),
    (f"{ECHARTS}/echarts.min.js", "http://www.w3.org/2000/xmlns/"),
    (f"{ECHARTS}/echarts.min.js", "http://www.w3.org/XML/1998/namespace"),
    # License texts shipped beside the bundle, as the Apache license asks.
    (f"{ECHARTS}/LICENSE", "http://www.apache.org/licenses/"),
    (f"{ECHARTS}/LICENSE", "http://www.apache.org/licenses/LICENSE-2.0"),
    (f"{ECHARTS}/LICENSE", "https://github.com/d3/d3"),
    (f"{ECHARTS}/NOTICE", "https://www.apache.org/"),
}


def web_files() -> list[Path]:
    return sorted(
        path
        for folder in (WEB_DIR / "templates", STATIC_DIR)
        for path in folder.rglob("*")
        if path.is_file()
    )


def test_templates_and_static_files_name_no_url_but_licenses_and_namespaces() -> None:
    # Given
    files = web_files()
    assert any(path.name == "chargeback.js" for path in files), "the scan sees the page's files"
    # When
    found = {
        (path.relative_to(WEB_DIR).as_posix(), url.rstrip(".,;"))
        for path in files
        for url in URL.findall(path.read_text(encoding="utf-8", errors="replace"))
    }
    # Then: a new URL fails here, and so does a listed one that is gone (the list stays exact)
    assert found == ALLOWED


def test_no_markup_or_script_loads_from_a_protocol_relative_address() -> None:
    # Given
    files = [path for path in web_files() if path.suffix in (".html", ".js", ".css")]
    # When
    offenders = [
        path.relative_to(WEB_DIR).as_posix()
        for path in files
        if RELATIVE_HOST.search(path.read_text(encoding="utf-8", errors="replace"))
    ]
    # Then
    assert offenders == []
