"""Headless Chromium for the report tests (Debian's ``chromium``), with no DevTools.

``render`` opens a page once, writes a screenshot, and returns what the page did: its DOM
after the page's scripts ran (``--dump-dom``, in the same launch), the console
messages Chromium logged (``--enable-logging``) and every request that tried to leave the
machine, read from Chromium's own network log (``--log-net-log``). Host names resolve to
nothing (``--host-resolver-rules``), so a request that tries is logged and fails; the
browser's own background requests (updates, accounts) are not the page's and are told
apart by their initiator.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SKIP_REASON = (
    "Debian's chromium is not installed (apt-get install chromium): the page cannot be "
    "rendered headless"
)


@dataclass
class Rendered:
    console: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # URLs the page tried to fetch
    dom: str = ""


def render(
    url: str, screenshot: Path, workdir: Path, width: int = 1400, height: int = 2400
) -> Rendered:
    assert CHROMIUM, SKIP_REASON
    workdir.mkdir(parents=True, exist_ok=True)
    net_log = workdir / "net-log.json"
    common = [
        CHROMIUM,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={workdir / 'profile'}",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--enable-logging=stderr",
        "--v=0",
        f"--window-size={width},{height}",
        "--hide-scrollbars",
        "--virtual-time-budget=5000",
    ]
    # One launch does both: the screenshot, and the DOM on standard output.
    run = subprocess.run(
        [*common, f"--log-net-log={net_log}", f"--screenshot={screenshot}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=180,
    )
    result = Rendered(dom=run.stdout)
    for line in run.stderr.splitlines():
        if ":CONSOLE" in line:
            result.console.append(line)
    result.requests = page_requests(net_log)
    return result


def page_requests(net_log: Path) -> list[str]:
    """URLs of network requests a page started (the browser's own have no origin)."""
    log = json.loads(net_log.read_text(encoding="utf-8"))
    kinds = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    urls = []
    for event in log.get("events", []):
        params = event.get("params") or {}
        if kinds.get(event["type"]) != "URL_REQUEST_START_JOB" or "url" not in params:
            continue
        if params.get("initiator") == "not an origin":
            continue
        if params["url"].split(":", 1)[0] in ("file", "data"):
            continue
        urls.append(params["url"])
    return urls


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])
