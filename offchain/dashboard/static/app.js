// The Kilowatt Exchange dashboard: draws the snapshot the server pushes (server-sent events from /api/events).
// Quantities arrive converted (kWh, UPOS) beside their exact on-chain integers; this script only formats them.
// Mechanism panels register a renderer with kwx.registerPanel(name, (root, data, ui) => ...) (docs/dashboard.md).
"use strict";

const kwx = (() => {
  const renderers = {};
  const charts = {};
  const state = { period: null, snapshot: null };

  const fmt = (value, digits) => (value === null || value === undefined) ? "–"
    : Number(value).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

  const ui = {
    kwh: (v) => `${fmt(v, 3)} kWh`,
    upos: (v) => `${fmt(v, 4)} UPOS`,
    price: (v) => `${fmt(v, 4)} UPOS/kWh`,
    num: fmt,
    short: (address) => address ? `${address.slice(0, 6)}…${address.slice(-4)}` : "–",
    who: (address, name) => name || ui.short(address),
    esc: (text) => String(text ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c])),
    // A table: headers [text | {text, title}], rows of cells [text | {text, title, cls}], optional row attributes.
    table(element, headers, rows, rowAttrs) {
      const cell = (c, tag) => {
        const o = (c !== null && typeof c === "object") ? c : { text: c };
        return `<${tag}${o.title ? ` title="${ui.esc(o.title)}"` : ""}${o.cls ? ` class="${o.cls}"` : ""}>${ui.esc(o.text)}</${tag}>`;
      };
      const head = `<thead><tr>${headers.map((h) => cell(h, "th")).join("")}</tr></thead>`;
      const body = rows.length ? rows.map((r, i) => `<tr${rowAttrs ? " " + rowAttrs(i) : ""}>${r.map((c) => cell(c, "td")).join("")}</tr>`).join("")
        : `<tr><td colspan="${headers.length}" class="empty">nothing yet</td></tr>`;
      element.innerHTML = head + `<tbody>${body}</tbody>`;
    },
    // A Chart.js chart on `canvas`, created once and updated in place afterwards (no flicker, no animation).
    chart(canvas, config) {
      const key = canvas.id;
      config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, config.options);
      if (charts[key] && charts[key].canvas === canvas && charts[key].config.type === config.type) {
        charts[key].data.labels = config.data.labels;
        charts[key].data.datasets = config.data.datasets;
        charts[key].options = config.options;
        charts[key].update("none");
      } else {
        if (charts[key]) charts[key].destroy();
        charts[key] = new Chart(canvas, config);
      }
      return charts[key];
    },
    axis: (title) => ({ title: { display: true, text: title }, grid: { color: "#e8ecf1" } }),
    card(root, id, html) {
      if (!root.querySelector(`#${id}`)) root.insertAdjacentHTML("beforeend", html);
      return root.querySelector(`#${id}`);
    },
  };

  function registerPanel(name, render) { renderers[name] = render; }

  // --- the order book ------------------------------------------------------------------------------------------

  function renderBook(book) {
    const periods = book.periods;
    if (state.period === null || !periods.some((p) => p.period === state.period)) {
      const open = periods.filter((p) => p.bids.length || p.asks.length);
      state.period = (open.length ? open[open.length - 1] : periods[periods.length - 1] || { period: null }).period;
    }
    const tabs = document.getElementById("periods");
    tabs.innerHTML = periods.length ? periods.map((p) =>
      `<button role="tab" data-period="${p.period}" class="${p.period === state.period ? "active" : ""}"
        title="delivery period ${p.period}${p.period === book.current_period ? " (now)" : ""}">period ${p.period}${p.period === book.current_period ? " · now" : ""}</button>`).join("")
      : `<span class="empty">no orders yet (current delivery period: ${book.current_period ?? "–"})</span>`;
    tabs.querySelectorAll("button").forEach((b) => b.addEventListener("click", () => {
      state.period = Number(b.dataset.period);
      render(state.snapshot);
    }));
    const shown = periods.find((p) => p.period === state.period) || { bids: [], asks: [], orders: [] };
    const prices = [...new Set([...shown.bids, ...shown.asks].map((l) => l.price))].sort((a, b) => a - b);
    const at = (levels) => prices.map((p) => { const l = levels.find((x) => x.price === p); return l ? l.kwh : null; });
    const exact = (levels, label) => (ctx) => {
      const l = levels.find((x) => x.price === prices[ctx.dataIndex]);
      return l ? `${label}: ${ui.kwh(l.kwh)} visible (${l.wh.toLocaleString("en-US")} Wh) at ${ui.price(l.price)} (${l.price_base} base units/kWh)` : "";
    };
    ui.chart(document.getElementById("depth-chart"), {
      type: "bar",
      data: {
        labels: prices.map((p) => fmt(p, 4)),
        datasets: [
          { label: "bids (buy)", data: at(shown.bids), backgroundColor: "#2e9d5b", tooltip: { callbacks: { label: exact(shown.bids, "bid") } } },
          { label: "asks (sell)", data: at(shown.asks), backgroundColor: "#d2553f", tooltip: { callbacks: { label: exact(shown.asks, "ask") } } },
        ],
      },
      options: { scales: { x: ui.axis("price (UPOS per kWh)"), y: Object.assign(ui.axis("visible energy (kWh)"), { beginAtZero: true }) },
        plugins: { title: { display: true, text: `Depth of delivery period ${state.period ?? "–"}` } } },
    });
    const rows = prices.slice().reverse().map((p) => {
      const bid = shown.bids.find((l) => l.price === p), ask = shown.asks.find((l) => l.price === p);
      return [{ text: fmt(p, 4), title: `${p} UPOS per kWh` },
        bid ? { text: fmt(bid.kwh, 3), title: `${bid.wh} Wh visible`, cls: "bid" } : "",
        ask ? { text: fmt(ask.kwh, 3), title: `${ask.wh} Wh visible`, cls: "ask" } : ""];
    });
    ui.table(document.getElementById("levels"), ["price (UPOS/kWh)", "bids (kWh)", "asks (kWh)"], rows,
      (i) => `data-price="${fmt(prices[prices.length - 1 - i], 4)}"`);
  }

  function renderTape(tape) {
    ui.table(document.getElementById("tape"), ["period", "UPOS/kWh", "kWh", "seller → buyer"],
      tape.map((t) => [{ text: t.period, title: `block ${t.block}, transaction ${t.tx}` },
        { text: fmt(t.price, 4), title: `${t.price_base} base units per kWh` },
        { text: fmt(t.kwh, 3), title: `${t.wh} Wh, paid ${t.upos} UPOS` },
        { text: `${ui.who(t.seller, t.seller_name)} → ${ui.who(t.buyer, t.buyer_name)}`, title: `seller ${t.seller}, buyer ${t.buyer}; maker order #${t.maker}, taker order #${t.taker}` }]),
      (i) => `data-testid="trade" data-block="${tape[i].block}"`);
  }

  function renderBalances(rows) {
    ui.table(document.getElementById("balances"), ["participant", "wallet (UPOS)", "in book (UPOS)", "EPOS (score)", "energy credits (kWh)"],
      rows.map((r) => [{ text: r.name, title: r.account },
        { text: fmt(r.upos_wallet, 2), title: `${r.upos_wallet} UPOS in the wallet` },
        { text: fmt(r.upos_book_free + r.upos_book_locked, 2), title: `${r.upos_book_free} free + ${r.upos_book_locked} locked in open buy orders` },
        { text: fmt(r.epos, 3), title: `${r.epos} EPOS` },
        { text: r.energy.map((e) => `p${e.period}: ${fmt(e.wallet_kwh + e.book_free_kwh + e.book_locked_kwh, 3)}`).join(", ") || "–",
          title: r.energy.map((e) => `period ${e.period}: ${e.wallet_kwh} kWh in the wallet, ${e.book_free_kwh} free and ${e.book_locked_kwh} locked in the book`).join("; ") }]),
      (i) => `data-account="${rows[i].account}"`);
  }

  function renderWorkers(workers) {
    ui.table(document.getElementById("workers"), ["worker", "state", "restarts", "last exit", { text: "lag", title: "blocks between the chain head and the worker's cursor" }, "results", "failed", "last result"],
      workers.map((w) => [w.name, { text: w.state, cls: `state-${w.state.replace(/ /g, "-")}`, title: w.reason || (w.pid ? `pid ${w.pid}` : "") },
        w.restarts, w.last_exit || "–", { text: w.lag_blocks ?? "–", title: `cursor at block ${w.scanned_block ?? "–"}` },
        { text: w.accepted + w.superseded, title: `${w.accepted} accepted, ${w.superseded} accepted through someone else's transaction, ${w.open} open (${w.deferred} deferred)` },
        w.failed, { text: (w.last_result || "–").replace(/ 0x.*$/, ""), title: w.last_result || "" }]),
      (i) => `data-worker="${workers[i].name}" data-restarts="${workers[i].restarts}" data-state="${workers[i].state}"`);
  }

  function renderPanels(panels) {
    const root = document.getElementById("panels");
    for (const [name, panel] of Object.entries(panels)) {
      const card = ui.card(root, `panel-${name}`, `<section class="card wide panel" id="panel-${name}" data-testid="panel-${name}">
        <h2>${ui.esc(panel.title)}</h2><p class="hint">${ui.esc(panel.summary)}</p><div class="panel-body"></div></section>`);
      const body = card.querySelector(".panel-body");
      if (panel.error) { body.innerHTML = `<p class="error">this panel failed: ${ui.esc(panel.error)}</p>`; continue; }
      if (!renderers[name]) { body.innerHTML = `<p class="empty">no renderer for ${ui.esc(name)}</p>`; continue; }
      renderers[name](body, panel.data, ui);
    }
  }

  function render(snapshot) {
    state.snapshot = snapshot;
    const error = document.getElementById("error");
    error.hidden = !snapshot.error;
    error.textContent = snapshot.error ? `Cannot read the chain: ${snapshot.error}` : "";
    if (!snapshot.ready) return;
    const c = snapshot.chain;
    document.getElementById("chain").innerHTML = `<span class="dot"></span>${ui.esc(c.network)} (chain id ${c.chain_id}) ·
      block <b data-testid="head">${c.head}</b> · ${new Date(c.timestamp * 1000).toLocaleString()}`;
    renderBook(snapshot.book);
    renderTape(snapshot.book.tape);
    renderBalances(snapshot.balances);
    renderWorkers(snapshot.workers || []);
    renderPanels(snapshot.panels);
    document.body.dataset.version = snapshot.version;
  }

  async function start() {
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    const panels = await (await fetch("/api/panels")).json();
    await Promise.all(panels.map((p) => new Promise((resolve) => {
      const script = document.createElement("script");
      script.src = p.script;
      script.onload = script.onerror = resolve;
      document.head.appendChild(script);
    })));
    const source = new EventSource("/api/events");
    source.onmessage = (message) => render(JSON.parse(message.data));
    source.onerror = () => { document.getElementById("chain").classList.add("offline"); };
    source.onopen = () => { document.getElementById("chain").classList.remove("offline"); };
  }

  document.addEventListener("DOMContentLoaded", start);
  return { registerPanel, ui };
})();
window.kwx = kwx;
