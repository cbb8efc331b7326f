"""Writes docs/img/dashboard.png: the dashboard of a market with something in every panel.

    python scripts/dashboard_screenshot.py [OUT.png]      (about 1-2 minutes)

On an embedded chain: six delivery periods of seed 000's synthetic day matched by the fog-matching worker (certified
Hungarian assignments, the exchange log, grid settlement), two slots of seed 001's coalition market (the first
drawn validator of slot 2 misses its block and is slashed), and a delivery period of the order book (an iceberg,
limit orders, trades). Then `kwx up` runs every worker on that chain beside `kwx dashboard`, and headless chromium
(Debian's, driven by playwright) takes the picture. Nothing here is a test: the browser tests are
tests/offchain/service/test_dashboard_browser.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from offchain import units
from offchain.chain import free_port, port_open
from offchain.data.seed000 import synthetic_microgrid
from offchain.mechanisms.coalition_market.chain_run import Community, Simulation, _register
from offchain.mechanisms.coalition_market.forecasts import SeededForecasts
from offchain.mechanisms.coalition_market.plan import SlotSettings
from offchain.mechanisms.coalition_market.workers import CoalitionMarketWorker
from offchain.mechanisms.consensus import ConsensusTerms
from offchain.mechanisms.fog_ems.chain_run import open_chain_day
from offchain.mechanisms.fog_ems.model import MarketRules, day_window, forecast_bids

ROOT = Path(__file__).resolve().parents[1]
KWX = [sys.executable, "-m", "offchain.cli"]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WINDOW = (600, 6)  #: seed 000 periods played: 10:00 to 11:30 of the synthetic day
COALITION_FIRST_ACCOUNT = 40  #: test-mnemonic accounts of the coalition community (the fog agents use 10 on)
#: (seller?, member, price UPOS/kWh, kWh, display kWh): the order-book period, placed in this order.
ORDERS = ((True, 0, 0.20, 3.0, 1.0), (True, 1, 0.18, 1.5, 0), (True, 2, 0.24, 2.0, 0), (False, 3, 0.15, 1.0, 0),
          (False, 4, 0.12, 2.0, 0), (False, 5, 0.22, 2.5, 0), (False, 6, 0.17, 0.8, 0))


def play_fog_periods(day) -> None:
    rules = day.rules
    data = synthetic_microgrid()
    _, net, (first, count) = day_window(data, WINDOW, rules)
    bids = forecast_bids(data, "perfect")[:, first: first + count]
    k = rules.steps_per_period
    for m in range(count):
        day.play_period(first + m, bids[:, m], net[:, m * k: (m + 1) * k])
    day.stop_worker()


def play_coalition_slots(chain) -> list:
    participants = chain.participants(COALITION_FIRST_ACCOUNT, 10)
    source = SeededForecasts(tuple(c.address for c in participants), seed=1)
    settings = SlotSettings()
    terms = ConsensusTerms(price_base_per_kwh=units.price_to_base_per_kwh(settings.price_upos_per_kwh),
                           delta_bps=settings.delta_bps, slash_bps=settings.slash_bps)
    community = Community(chain, terms, participants, source)
    _register(community)
    with CoalitionMarketWorker(chain.scorer, chain.manifest, source, chain.work_dir / "coalition", settings=settings,
                               faults={}) as worker:
        simulation = Simulation(community, worker, settings)
        simulation.play_slot(1, False)
        simulation.play_slot(2, True)
    return participants


def trade_a_period(chain, members) -> None:
    book = chain.manifest.address("EnergyOrderBook")
    period = chain.call("EnergyOrderBook", "currentPeriod") + 2
    for i, member in enumerate(members[:7]):
        chain.send(member, "UPOS", "approve", book, units.upos_to_base(20))
        chain.send(member, "EnergyOrderBook", "depositUpos", units.upos_to_base(20))
    for seller, who, price, kwh, display in ORDERS:
        member = members[who]
        if seller:
            chain.send(chain.meter, "EnergyCredit", "attestSurplus", member.address, period, units.kwh_to_wh(kwh))
            chain.send(member, "EnergyCredit", "setApprovalForAll", book, True)
            chain.send(member, "EnergyOrderBook", "depositEnergy", period, units.kwh_to_wh(kwh))
    for seller, who, price, kwh, display in ORDERS:
        chain.send(members[who], "EnergyOrderBook", "placeOrder", period, not seller,
                   units.price_to_base_per_kwh(price), units.kwh_to_wh(kwh), units.kwh_to_wh(display or kwh))
    chain.send(members[7], "UPOS", "approve", book, units.upos_to_base(20))
    chain.send(members[7], "EnergyOrderBook", "depositUpos", units.upos_to_base(20))
    chain.send(members[7], "EnergyOrderBook", "placeOrder", period, True, units.price_to_base_per_kwh(0.21),
               units.kwh_to_wh(1.6), units.kwh_to_wh(1.6))


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="kwx-screenshot-") as work:
        data = synthetic_microgrid()
        agents, _, (first, _) = day_window(data, WINDOW, MarketRules())
        with open_chain_day(work, n_prosumers=len(agents), n_evs=2, first_period=first, method="hungarian") as day:
            chain = day.chain
            play_fog_periods(day)
            members = play_coalition_slots(chain)
            trade_a_period(chain, members)
            env = {k: v for k, v in os.environ.items() if not k.startswith("KWX_")}
            env["KWX_LOCAL_RPC_URL"] = chain.anvil.rpc_url
            deployments, state = chain.work_dir / "deployments", Path(work) / "state"
            port = free_port()
            common = ["--manifest-dir", str(deployments), "--state-dir", str(state)]
            up = subprocess.Popen([*KWX, "up", *common, "--poll", "1", "--skip", "fedavg-aggregator"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            dashboard = subprocess.Popen([*KWX, "dashboard", "--port", str(port), *common, "--poll", "0.5"], env=env,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                while not port_open(port):
                    time.sleep(0.2)
                time.sleep(15)  # every worker started and polled
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
                    page = browser.new_page(viewport={"width": 1440, "height": 900})
                    page.goto(f"http://127.0.0.1:{port}/")
                    page.wait_for_selector('#workers tr[data-state="running"]')
                    page.locator("#periods button").last.click()
                    time.sleep(1)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(out), full_page=True)
                    browser.close()
            finally:
                for process in (dashboard, up):
                    process.terminate()
                    process.wait(15)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "img" / "dashboard.png")
