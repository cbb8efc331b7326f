"""``kwx dashboard``: a live web page of the market built from the chain's events (docs/dashboard.md).

offchain.dashboard.book folds the order book's events into depth and a trade tape (pure); .index reads the
events of the book and of every mechanism's panel (``Mechanism.panel``) and builds the snapshot the page draws;
.server serves the page, its scripts (Chart.js from npm, no CDN) and the snapshot as server-sent events.
"""

from .index import ChainIndex, PanelViews

__all__ = ["ChainIndex", "PanelViews"]
