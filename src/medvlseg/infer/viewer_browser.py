"""Open a `predict --html` page in headless Chromium and report what a person would see (tests, docs screenshot).

Drives the system browser (Debian `chromium` + `chromium-driver`) with selenium (the `test` extra; selenium's own
driver download is never used: the chromedriver path is given). WebGL runs on SwiftShader (software), so no GPU
is needed. Returns the screenshot (PNG bytes), the browser console entries and every URL the page requested
(Chrome's performance log: Network.requestWillBeSent), so callers can check that it stayed offline.

`python -m medvlseg.infer.viewer_browser PAGE.html OUT.png [WIDTH HEIGHT]` saves a screenshot.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
DRIVER = "chromedriver"


@dataclass
class PageLoad:
    """What loading the page produced."""

    png: bytes  # screenshot of the viewport
    console: list[dict]  # browser console entries ({level, message})
    urls: list[str]  # every URL requested while loading
    ready: bool  # the page's script finished (body[data-ready])
    status: str  # the page's status line (an error message when it failed)


def find_browser() -> tuple[str, str] | None:
    """(chromium binary, chromedriver) paths, or None when either is missing."""
    binary = next((p for p in map(shutil.which, CHROMIUM) if p), None)
    driver = shutil.which(DRIVER)
    return (binary, driver) if binary and driver else None


def load_page(page: Path, width: int = 1280, height: int = 800, timeout_s: float = 120.0) -> PageLoad:
    """Open `page` (file://) in headless Chromium, wait for the viewer to be ready, screenshot it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = find_browser()
    if found is None:
        raise FileNotFoundError("chromium and chromedriver are needed (Debian: apt-get install chromium "
                                "chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--use-angle=swiftshader",
                "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist", f"--window-size={width},{height}",
                "--no-first-run", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-default-apps"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=found[1]), options=options)
    try:
        driver.get(Path(page).resolve().as_uri())
        deadline = time.monotonic() + timeout_s
        ready, status = False, ""
        while time.monotonic() < deadline:
            ready = driver.execute_script("return document.body.dataset.ready === '1'")
            status = driver.execute_script("return document.getElementById('status').textContent")
            if ready or status.startswith("error"):
                break
            time.sleep(0.5)
        time.sleep(1.0)  # let NiiVue draw a few frames
        png = driver.get_screenshot_as_png()
        console = [{"level": e["level"], "message": e["message"]} for e in driver.get_log("browser")]
        urls = []
        for entry in driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") == "Network.requestWillBeSent":
                urls.append(msg["params"]["request"]["url"])
        return PageLoad(png, console, urls, bool(ready), str(status))
    finally:
        driver.quit()


def main(argv: list[str]) -> int:
    """Save a screenshot of PAGE to OUT.png; print console errors and non-local URLs."""
    if len(argv) not in (2, 4):
        print("usage: python -m medvlseg.infer.viewer_browser PAGE.html OUT.png [WIDTH HEIGHT]", file=sys.stderr)
        return 2
    size = (int(argv[2]), int(argv[3])) if len(argv) == 4 else (1280, 800)
    result = load_page(Path(argv[0]), *size)
    Path(argv[1]).write_bytes(result.png)
    remote = [u for u in result.urls if not u.startswith(("file:", "data:", "blob:"))]
    print(f"{argv[1]}: ready={result.ready}, {len(result.urls)} requests ({len(remote)} non-local), "
          f"{sum(e['level'] == 'SEVERE' for e in result.console)} console errors")
    return 0 if result.ready and not remote else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
