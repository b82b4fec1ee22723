"""Test helper: run a check script in many pages with one headless Chromium.

Starting Chromium costs about 1–2 s; the browser checks (axe-core, visible text, broken words) ran it once per page
and per width, a few hundred times per test run. :func:`reports` starts it once for a list of pages: a driver page
loads each page in an iframe ``width`` px wide (the page's own viewport: its media queries apply), runs ``script``
inside it as the page's own script would run, and waits for the ``<pre id=report_id>`` the script writes (axe-core
writes it asynchronously). ``--allow-file-access-from-files`` lets the driver, a file, read pages that are files.
Chromium's profile folder and the driver are removed afterwards: nothing is left in the temporary folder.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium")

_DRIVER = r"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>driver</title></head><body><script>
var PAGES = %(pages)s, SCRIPT = %(script)s, REPORT = %(report_id)s, WIDTH = %(width)d;
var out = {}, i = 0;
function done() {
  var e = document.createElement('pre'); e.id = 'driver-report'; e.textContent = JSON.stringify(out);
  document.body.appendChild(e);
}
function next() {
  if (i >= PAGES.length) { done(); return; }
  var page = PAGES[i], f = document.createElement('iframe');
  f.style.width = WIDTH + 'px'; f.style.height = '900px'; f.style.border = '0';
  f.onload = function() {
    var doc = f.contentDocument, waited = 0;
    try {
      var s = doc.createElement('script'); s.textContent = SCRIPT; doc.body.appendChild(s);
    } catch (err) { out[page] = {error: String(err)}; f.remove(); i++; next(); return; }
    (function poll() {
      var r = doc.getElementById(REPORT);
      if (r) { out[page] = {report: r.textContent}; f.remove(); i++; next(); return; }
      if ((waited += 50) > 60000) { out[page] = {error: 'no report after 60 s'}; f.remove(); i++; next(); return; }
      setTimeout(poll, 50);
    })();
  };
  f.src = page;
  document.body.appendChild(f);
}
next();
</script></body></html>
"""


def reports(pages: list[Path], script: str, report_id: str, width: int = 1280, *, timeout: int = 900) -> dict[Path, Any]:
    """page -> the JSON that ``script`` wrote into ``<pre id=report_id>`` of ``page``, laid out ``width`` px wide."""
    assert CHROMIUM, "needs chromium (bash .ci/setup --test)"
    if not pages:
        return {}
    uris = {p.resolve().as_uri(): p for p in pages}
    with tempfile.TemporaryDirectory(prefix="reportgen-chromium-") as tmp:
        driver = Path(tmp) / "driver.html"
        driver.write_text(_DRIVER % {"pages": json.dumps(list(uris)), "script": json.dumps(script),
                                     "report_id": json.dumps(report_id), "width": width}, encoding="utf-8")
        dom = subprocess.run([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                              "--disable-background-networking", "--disable-component-update", "--disable-sync",
                              "--no-first-run", "--disable-quic", "--allow-file-access-from-files",
                              f"--user-data-dir={Path(tmp) / 'profile'}", "--window-size=1400,1000",
                              # virtual time runs only while nothing loads: a budget in virtual ms, met in seconds
                              f"--virtual-time-budget={max(60000, 20000 * len(uris))}",
                              "--dump-dom", driver.as_uri()],
                             check=False, capture_output=True, text=True, timeout=timeout).stdout
    found = re.search(r'<pre id="driver-report">(.*?)</pre>', dom, re.DOTALL)
    assert found, f"Chromium's driver did not finish ({len(uris)} pages)"
    raw = json.loads(html.unescape(found.group(1)))
    missing = [uri for uri in uris if uri not in raw or "error" in raw[uri]]
    assert not missing, {uri: raw.get(uri) for uri in missing}
    return {uris[uri]: json.loads(raw[uri]["report"]) for uri in uris}
