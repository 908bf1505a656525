"""``fwa report``'s index.html of the shared figures study, opened in headless chromium from disk: it loads with
no console error and no failed request, every image is drawn, every link resolves, and the claims table is the
first thing on it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from figstudy import figures_report

from fwanalysis.claims import CLAIMS, VERDICTS

pytestmark = pytest.mark.slow  # every figure of the study written once


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The report of the figures study's runs that can be made here (the absent figures listed as such), shared
    with the report's byte-identity test; and the ids of the figures it built."""
    _, out, items = figures_report(tmp_path_factory)
    return out, [fid for fid, item in items.items() if item["status"] == "ok"]


@pytest.fixture(scope="module")
def page(browser, report):
    """The loaded page, with the console errors, page errors and failed requests seen while loading it."""
    out, _ = report
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)  # no network needed
    pg = ctx.new_page()
    seen = []
    pg.on("console", lambda m: seen.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: seen.append(f"page error: {e}"))
    pg.on("requestfailed", lambda r: seen.append(f"failed request: {r.url}"))
    pg.goto((out / "index.html").as_uri(), wait_until="load")
    yield pg, seen
    ctx.close()


def test_the_page_loads_without_errors_and_every_image_is_drawn(page, report):
    pg, seen = page
    _, built = report
    assert seen == []
    images = pg.evaluate(
        "Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])"
    )
    # a thumbnail and the figure itself for each built figure, each one drawn
    assert sorted(src for src, _ in images) == sorted(f"{fid}.png" for fid in built for _ in range(2))
    assert [src for src, drawn in images if not drawn] == []


def test_every_link_resolves(page, report):
    """``#id`` links to an element of the page; a relative link to a file of the report's folder."""
    pg, _ = page
    out, built = report
    links = pg.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => [a.getAttribute('href'), a.href])")
    anchors = [h[1:] for h, _ in links if h.startswith("#")]
    missing = pg.evaluate("ids => ids.filter(id => !document.getElementById(id))", anchors)
    assert missing == []
    files = [(h, resolved) for h, resolved in links if not h.startswith("#")]
    for href, resolved in files:
        url = urlparse(resolved)
        assert url.scheme == "file", href  # nothing on the network
        target = Path(unquote(url.path))
        assert target.parent == out and target.is_file(), href
    thumbs = pg.evaluate("Array.from(document.querySelectorAll('.grid a')).map(a => a.getAttribute('href'))")
    assert thumbs == [f"#{fid}" for fid in built]  # each thumbnail links to its section
    assert {h for h, _ in files} >= {"claims.md", "index.md", "provenance.md"}


def test_the_claims_table_is_at_the_top(page):
    pg, _ = page
    first = pg.evaluate("document.querySelector('main > section').id")
    rows = pg.evaluate(
        "Array.from(document.querySelectorAll('#claims table.claims tbody tr'))"
        ".map(tr => tr.querySelector('.verdict').textContent)"
    )
    assert first == "claims" and len(rows) == len(CLAIMS) and set(rows) <= set(VERDICTS)
    # the folded parts are closed: the data tables and the provenance are on demand
    assert pg.evaluate("Array.from(document.querySelectorAll('details')).every(d => !d.open)")
    assert pg.evaluate("document.querySelectorAll('section.figure details').length") > 0
