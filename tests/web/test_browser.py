"""A real browser (Debian's chromium through selenium) on a real ``traitctl serve`` subprocess:
every page loads without console errors (the CSP would report inline script or style), and a flag
is toggled through the form. Screenshots go to ``$TRAITCTL_SCREENSHOTS`` (default: the test's
temporary folder; ``docs/dashboard/`` holds the committed ones).

Fails, not skips, under ``CI=true`` when chromium or chromedriver is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.web.conftest import TOKEN, calm

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
PAGES = [("overview", "/"), ("traits", "/traits?tenant=acme"), ("trait", "/trait?name=Cacheable&tenant=acme"),
         ("model", "/model?name=Invoice"), ("flags", "/flags"), ("eval", "/flags/eval?flag=trait_caching&user=42"),
         ("jobs", "/jobs"), ("metrics", "/charts?since=1h"), ("history", "/history")]


def _need_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(p)]
    if missing:
        message = f"chromium/chromedriver missing ({', '.join(missing)}): apt-get install chromium chromium-driver"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(url: str, proc: subprocess.Popen, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"traitctl serve exited: {proc.stderr.read()}")
        try:
            urllib.request.urlopen(url, timeout=1)
        except urllib.error.HTTPError:
            return  # 401: up
        except OSError:
            time.sleep(0.1)
            continue
        return
    raise AssertionError("traitctl serve did not start in time")


def _data(project: Path, cli) -> subprocess.Popen:
    """A job queued for a worker (returned, running), metrics ingested, a flag rolling out."""
    now = time.time()
    lines = "".join(json.dumps({"name": name, "value": v, "kind": kind, "ts": now - 60 * k,
                                "labels": {"trait": trait}}) + "\n"
                    for k in range(30) for name, kind, trait, v in (
                        ("trait.Cacheable.hits", "counter", "Cacheable", 20 + k % 7 + (30 - k)),
                        ("trait.Auditable.write_ms", "timing", "Auditable", 4 + (k % 5) * 0.7)))
    assert cli("metrics", "ingest", "-", input=lines).exit_code == 0
    assert cli("flags", "rollout", "trait_caching", "35").exit_code == 0
    assert cli("jobs", "enqueue", "noop").exit_code == 0
    return subprocess.Popen([sys.executable, "-m", "traitctl", "worker", "--no-periodic"], cwd=project,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900", "--disable-extensions"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def _errors(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def test_every_page_in_chromium_and_a_flag_toggled_through_the_form(project: Path, config_file: Path, cli):
    _need_browser()
    from selenium.webdriver.common.by import By

    calm(config_file)
    worker = _data(project, cli)
    port = _free_port()
    env = dict(os.environ, TRAITCTL_SERVE_TOKEN=TOKEN, TRAITCTL_ACTOR="browser")
    server = subprocess.Popen([sys.executable, "-m", "traitctl", "serve", "--port", str(port), "--allow-writes",
                               "--refresh", "2s"], cwd=project, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    shots = Path(os.environ.get("TRAITCTL_SCREENSHOTS") or project / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    driver = None
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_up(base + "/health", server)
        _wait_job_done(cli)
        driver = _browser()
        driver.get(f"{base}/?token={TOKEN}")
        assert "token=" not in driver.current_url
        for name, path in PAGES:
            driver.get(base + path)
            assert driver.find_element(By.TAG_NAME, "h1").text, name
            assert "Error" not in driver.title, (name, driver.page_source[:500])
            driver.save_screenshot(str(shots / f"{name}.png"))
            assert _errors(driver) == [], name
        driver.get(base + "/flags")
        time.sleep(2.5)  # one htmx refresh of the table: it must swap in without errors
        assert _errors(driver) == []
        assert driver.find_element(By.ID, "flag-trait_caching")
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.support import expected_conditions as EC
        from selenium.webdriver.support.ui import WebDriverWait

        for _ in range(5):  # the htmx refresh may swap the table between finding the button and clicking it
            try:
                driver.find_element(By.CSS_SELECTOR, "#flag-trait_caching form[action$='/disable'] button").click()
                break
            except StaleElementReferenceException:
                continue
        # the form posts and the browser loads the answer page: wait for it (a loaded machine is slow)
        notice = WebDriverWait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".notice"))).text
        assert "trait_caching updated" in notice, notice
        section = config_file.read_text().split("[flags.trait_caching]")[1].split("\n[")[0]
        assert "enabled = false" in section
        events = json.loads(cli("history", "--kind", "flag.set", "--json").stdout)["events"]
        assert events[0]["actor"] == "web:browser" and events[0]["after"] == "false"
        assert _errors(driver) == []
    finally:
        if driver is not None:
            driver.quit()
        for proc in (server, worker):
            proc.send_signal(signal.SIGINT)
        for proc in (server, worker):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_job_done(cli, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = json.loads(cli("jobs", "list", "--json").stdout)["jobs"]
        if jobs and jobs[0]["state"] == "succeeded":
            return
        time.sleep(0.3)
    raise AssertionError(f"the worker did not run the job: {jobs}")
