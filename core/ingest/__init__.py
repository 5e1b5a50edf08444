"""Importing the ERP's data: one service, two doors (CSV files and the orders API).

    import_products(session, stream, source)   products.csv
    import_customers(session, stream, source)  customers.csv
    import_orders(session, stream, source)     orders.csv, one row per order line
    ingest_orders_json(session, payload)       the body of POST /api/orders

Each returns an `ImportReport`. The caller owns the transaction: these functions only
execute statements, so a refused or failed import is undone by rolling back.
"""

from core.ingest.api import OrderIn, OrderLineIn, ReportOut, ingest_orders_json
from core.ingest.files import import_customers, import_orders, import_products
from core.ingest.reading import ProgressCallback
from core.ingest.report import ImportReport, Rejection

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
]
