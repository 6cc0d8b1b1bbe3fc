"""The report page in a real headless browser: Debian's chromium driven over WebDriver.

tools/ensure_chromium.sh installs chromium and chromium-driver when they are missing
(``make test`` runs it; so does the fixture below).  The page must load from a file
with the network closed, without a console error, with every image decoded, and the
screenshot must show the figures where the <img> elements are.  Control pages (a blank
and a broken image) show that the checks can fail.
"""
import base64
import io
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from neurohw.report import compare

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
WIDTH = 1280


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebDriver:
    """The few W3C WebDriver commands the test needs, over HTTP to a local chromedriver."""

    def __init__(self, driver: str, binary: str, profile: str):
        self.port = _free_port()
        self.process = subprocess.Popen([driver, f"--port={self.port}"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if self._call("GET", "/status")["ready"]:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError("chromedriver did not start within 30 s")
            time.sleep(0.1)
        capabilities = {"browserName": "chrome", "goog:loggingPrefs": {"browser": "ALL"},
                        "goog:chromeOptions": {"binary": binary, "args": CHROMIUM_FLAGS + [
                            f"--user-data-dir={profile}", f"--window-size={WIDTH},900"]}}
        self.session = self._call("POST", "/session",
                                  {"capabilities": {"alwaysMatch": capabilities}})["sessionId"]

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())["value"]

    def command(self, method, path, body=None):
        return self._call(method, f"/session/{self.session}{path}", body)

    def open(self, url):
        self.command("POST", "/url", {"url": url})

    def run(self, script, asynchronous=False):
        return self.command("POST", "/execute/async" if asynchronous else "/execute/sync",
                            {"script": script, "args": []})

    def console(self):
        return self.command("POST", "/se/log", {"type": "browser"})

    def screenshot_of_page(self) -> Image.Image:
        """The whole page: the window is made as tall as the document first."""
        height = self.run("return document.documentElement.scrollHeight")
        self.command("POST", "/window/rect", {"width": WIDTH, "height": int(height) + 200})
        png = base64.b64decode(self.command("GET", "/screenshot"))
        return Image.open(io.BytesIO(png)).convert("RGB")

    def close(self):
        try:
            self.command("DELETE", "")
        finally:
            self.process.terminate()
            self.process.wait(timeout=10)


IMAGES = """
const done = arguments[arguments.length - 1];
const images = Array.from(document.images);
Promise.all(images.map(img => img.decode().then(() => true, () => false))).then(decoded => {
  done(images.map((img, i) => {
    const r = img.getBoundingClientRect();
    return {id: img.id, decoded: decoded[i], complete: img.complete,
            natural: [img.naturalWidth, img.naturalHeight],
            box: [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]};
  }));
});
"""
FETCHED = "return performance.getEntriesByType('resource').map(e => e.name)"


def blank(region: Image.Image) -> bool:
    """No figure there: (nearly) one colour, or almost nothing but the background."""
    pixels = np.asarray(region, dtype=np.float64)
    if pixels.size == 0:
        return True
    background = np.median(pixels.reshape(-1, 3), axis=0)
    drawn = np.abs(pixels - background).sum(axis=2) > 60
    return pixels.std() < 3 or drawn.mean() < 0.01


def figures_shown(driver: WebDriver, url: str):
    """(image facts, per image whether its screenshot region is blank, console errors,
    resources fetched)."""
    driver.open(url)
    images = driver.run(IMAGES, asynchronous=True)
    fetched = driver.run(FETCHED)
    shot = driver.screenshot_of_page()
    regions = []
    for img in images:
        x, y, w, h = img["box"]
        regions.append(blank(shot.crop((int(x) + 2, int(y) + 2, int(x + w) - 2, int(y + h) - 2))))
    errors = [e for e in driver.console() if e["level"] == "SEVERE"]
    return images, regions, errors, fetched, shot


@pytest.fixture(scope="module")
def driver():
    subprocess.run(["bash", str(REPO / "tools" / "ensure_chromium.sh")], check=True)
    binary, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    assert binary and chromedriver, "tools/ensure_chromium.sh did not install chromium"
    with tempfile.TemporaryDirectory(prefix="neurohw-chromium-") as profile:
        d = WebDriver(chromedriver, binary, profile)
        try:
            yield d
        finally:
            d.close()


def test_report_page_loads_offline_with_every_figure_drawn(driver, tmp_path):
    from test_report import small_script
    report = compare(small_script, sw=("reference",), targets=("fpga",), clock_hz=1e6,
                     mode="realtime", progress=False)
    html_path, _ = report.write(tmp_path)
    images, regions, errors, fetched, shot = figures_shown(driver, html_path.as_uri())
    keys = [f.key for f in report.figures]
    assert [img["id"] for img in images] == keys
    assert {"raster-fpga", "time-errors", "rates", "weights", "step-latency",
            "step-histogram"} <= set(keys)
    assert errors == [], errors
    assert fetched == [], f"the page fetched {fetched}"
    for img, is_blank in zip(images, regions):
        assert img["complete"] and img["decoded"], img
        assert min(img["natural"]) > 100, img
        assert img["box"][2] > 300 and img["box"][3] > 150, img     # laid out, visible
        assert not is_blank, f"figure {img['id']} is blank in the screenshot"
    shot.save(tmp_path / "screenshot.png")


def test_the_checks_catch_a_blank_and_a_broken_image(driver, tmp_path):
    white = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(white, format="PNG")
    uri = "data:image/png;base64," + base64.b64encode(white.getvalue()).decode()
    page = tmp_path / "control.html"
    page.write_text(f'<!DOCTYPE html><html><body><img id="white" src="{uri}">'
                    f'<img id="broken" width="400" height="300" '
                    f'src="data:image/png;base64,AAAA"></body></html>')
    images, regions, errors, _, _ = figures_shown(driver, page.as_uri())
    white_img, broken_img = images
    assert white_img["decoded"] and regions[0], "a white image must count as blank"
    assert not broken_img["decoded"] and broken_img["natural"] == [0, 0]
