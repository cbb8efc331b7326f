"""The dashboard in a real browser (Debian's headless chromium driven by playwright) beside a running `kwx up`:
the page loads without a console error; an order placed through the chain client appears in the book (an iceberg
with its visible slice only); a take prints on the tape and updates the book; a worker killed by the test shows as
restarted. A screenshot is written (to KWX_SCREENSHOT if set)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from offchain import units
from offchain.mechanisms import WORKERS
from offchain.chain import ChainClient, ParticipantKind, free_port, port_open

from kwx_up import KWX, Up, wait_until

pytestmark = pytest.mark.chain

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SELLER, BUYER = 4, 5  # test-mnemonic accounts (0-3 hold the roles)
TIMEOUT_MS = 20_000


class Market:
    """The participants' side of the running market: register, fund and trade through the chain client."""

    def __init__(self, up: Up) -> None:
        self.manifest = up.manifest()
        self.clients = {i: up.client(i) for i in (0, 1, 2, SELLER, BUYER)}
        book = self.contract("EnergyOrderBook", 0)
        self.period = self.clients[0].call(book.functions.currentPeriod()) + 2

    def contract(self, name: str, who: int):
        return self.clients[who].contract(name, self.manifest.address(name))

    def send(self, who: int, name: str, function: str, *args) -> None:
        client: ChainClient = self.clients[who]
        client.transact(getattr(self.contract(name, who).functions, function)(*args))

    def open_accounts(self) -> None:
        book = self.manifest.address("EnergyOrderBook")
        for who in (SELLER, BUYER):
            address = self.clients[who].address
            self.send(1, "ParticipantRegistry", "register", address, ParticipantKind.PROSUMER, 100 * who, 0, 0, 0, 0)
            self.send(0, "UPOS", "mint", address, units.upos_to_base(100))
            self.send(who, "UPOS", "approve", book, units.upos_to_base(100))
            self.send(who, "EnergyOrderBook", "depositUpos", units.upos_to_base(20))
        self.send(2, "EnergyCredit", "attestSurplus", self.clients[SELLER].address, self.period, units.kwh_to_wh(3))
        self.send(SELLER, "EnergyCredit", "setApprovalForAll", book, True)
        self.send(SELLER, "EnergyOrderBook", "depositEnergy", self.period, units.kwh_to_wh(3))

    def order(self, who: int, buy: bool, price: float, kwh: float, display_kwh: float = 0) -> None:
        self.send(who, "EnergyOrderBook", "placeOrder", self.period, buy, units.price_to_base_per_kwh(price),
                  units.kwh_to_wh(kwh), units.kwh_to_wh(display_kwh or kwh))


@pytest.fixture(scope="module")
def dashboard(market: Up, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`kwx dashboard` on a free port beside the market; its URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("dashboard") / "dashboard.log"
    with open(log, "w") as out:
        process = subprocess.Popen([*KWX, "dashboard", "--port", str(port), "--manifest-dir", str(market.deployments),
                                    "--state-dir", str(market.state), "--poll", "0.3"],
                                   env=market.env(), stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: port_open(port) or process.poll() is not None, 60, "the dashboard")
        assert process.poll() is None, log.read_text()
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


@pytest.fixture(scope="module")
def page(dashboard: str) -> Iterator[tuple[Page, list[str]]]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        # every asset is served by the dashboard itself (no CDN): a request elsewhere is an error too
        page.on("request", lambda request: None if request.url.startswith((dashboard, "data:"))
                else errors.append(f"request to {request.url}"))
        page.goto(dashboard)
        try:
            yield page, errors
        finally:
            browser.close()


def test_the_page_loads_without_a_console_error(page):
    view, errors = page
    expect(view.get_by_test_id("head")).to_have_text(re.compile(r"^[1-9][0-9]*$"), timeout=TIMEOUT_MS)
    expect(view.locator("#panel-fog_ems")).to_be_visible(timeout=TIMEOUT_MS)
    expect(view.locator("#panel-coalition_market")).to_be_visible(timeout=TIMEOUT_MS)
    expect(view.locator("#workers tr[data-worker]")).to_have_count(len(WORKERS), timeout=TIMEOUT_MS)
    assert errors == []


def test_an_order_appears_in_the_book_and_a_take_on_the_tape(page, market: Up):
    view, errors = page
    participants = Market(market)
    participants.open_accounts()
    participants.order(SELLER, False, 0.20, 3.0, 1.0)  # an iceberg: 1 kWh slices of 3 kWh
    ask = view.locator('#levels tr[data-price="0.2000"] td.ask')
    expect(ask).to_have_text("1.000", timeout=TIMEOUT_MS)  # the visible slice, not the 3 kWh
    expect(view.locator('[data-testid="trade"]')).to_have_count(0)

    participants.order(BUYER, True, 0.25, 1.5)  # takes the first slice and half the next
    trades = view.locator('[data-testid="trade"]')
    expect(trades).to_have_count(2, timeout=TIMEOUT_MS)
    expect(trades.first.locator("td").nth(2)).to_have_text("0.500")
    expect(trades.nth(1).locator("td").nth(2)).to_have_text("1.000")
    expect(trades.first.locator("td").nth(1)).to_have_text("0.2000")  # at the resting order's price
    expect(trades.first.locator("td").nth(3)).to_have_text("prosumer 1 → prosumer 2")
    expect(ask).to_have_text("0.500", timeout=TIMEOUT_MS)
    expect(view.locator(f'#balances tr[data-account="{participants.clients[BUYER].address}"] td').nth(2)) \
        .to_have_text("19.70", timeout=TIMEOUT_MS)  # 20 deposited, 1.5 kWh x 0.20 paid
    assert errors == []


def test_a_killed_worker_shows_as_restarted(page, market: Up, tmp_path: Path):
    view, errors = page
    os.kill(market.workers()["surplus-score"]["pid"], signal.SIGKILL)
    row = view.locator('#workers tr[data-worker="surplus-score"]')
    expect(row).to_have_attribute("data-restarts", "1", timeout=TIMEOUT_MS)
    expect(row).to_have_attribute("data-state", "running", timeout=TIMEOUT_MS)
    expect(row.locator("td").nth(3)).to_have_text("SIGKILL")
    target = Path(os.environ.get("KWX_SCREENSHOT") or tmp_path / "dashboard.png")
    view.screenshot(path=str(target), full_page=True)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and target.stat().st_size > 20_000
    assert errors == []
