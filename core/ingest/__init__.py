"""Importing the ERP's data: one service, two doors (CSV files and the orders API).

    import_products(session, stream, source)   products.csv
    import_customers(session, stream, source)  customers.csv
    import_orders(session, stream, source)     orders.csv, one row per order line
    load_orders(factory, stream, source)       the same in a transaction of its own (a first
                                               load skips SQLite's per-row FK checks)
    load_csv(factory, kind, stream, source)    any of the three in a transaction of its own
    ingest_orders_json(session, payload)       the body of POST /api/orders

Each returns an `ImportReport`. The caller owns the transaction (but for `load_orders`):
these functions only execute statements, so a refused or failed import is undone by rolling
back.

The names are imported on first use: the orders parser process (`core.ingest.parse_worker`)
imports this package too, and should not pay for the API's models and the writers at start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.ingest.api import OrderIn, OrderLineIn, ReportOut, ingest_orders_json
    from core.ingest.files import (
        import_customers,
        import_orders,
        import_products,
        load_csv,
        load_orders,
    )
    from core.ingest.reading import ProgressCallback
    from core.ingest.report import ImportReport, Rejection

_HOMES = {
    "ImportReport": "core.ingest.report",
    "OrderIn": "core.ingest.api",
    "OrderLineIn": "core.ingest.api",
    "ProgressCallback": "core.ingest.reading",
    "Rejection": "core.ingest.report",
    "ReportOut": "core.ingest.api",
    "import_customers": "core.ingest.files",
    "import_orders": "core.ingest.files",
    "import_products": "core.ingest.files",
    "ingest_orders_json": "core.ingest.api",
    "load_csv": "core.ingest.files",
    "load_orders": "core.ingest.files",
}
__all__ = [
    "ImportReport",
    "OrderIn",
    "OrderLineIn",
    "ProgressCallback",
    "Rejection",
    "ReportOut",
    "import_customers",
    "import_orders",
    "import_products",
    "ingest_orders_json",
    "load_csv",
    "load_orders",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
