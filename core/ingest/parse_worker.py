"""The parser process for large orders.csv files: `python -m core.ingest.parse_worker`.

On two cores an import takes max(parse, write) instead of their sum when the file is parsed
in its own process while this one writes. The worker reads its job from stdin (one pickle:
the file's path and offset, the products by SKU, the batch size, whether the database driver
takes Python values, the customers' ids by phone), parses the file with the very same
`CsvRows` and `OrderLines` as an import in one process (batches leave as rows in the driver's
form, work the writing process is spared), and writes frames to stdout, each an 8-byte length
and the encoding (`order_feed.encode_frame`) of:

    ("batch", (orders, lines, line_numbers, first, again), rejections, warnings, bytes_read,
     total_bytes)
    ("refused", reason)
    ("done", rejections, warnings, bytes_read, total_bytes)
    ("error", traceback)

the second item holds the fields of an `OrderBatch` (flat tuples of plain values);
rejections are `(line, reason)` pairs found since the previous frame. A process rather than a
thread: parsing is pure Python and would hold the GIL that the SQLite writer needs.
"""

from __future__ import annotations

import gc
import pickle
import sys
import traceback
from typing import IO, Any

from core.ingest.drafts import ProductInfo
from core.ingest.order_feed import FRAME_HEADER, encode_frame
from core.ingest.orders import ORDER_COLUMNS, OrderLines
from core.ingest.reading import CsvRows, Refused
from core.ingest.report import ImportReport


def write_frame(out: IO[bytes], message: tuple[Any, ...], native: bool = False) -> None:
    """One length-prefixed frame on a byte stream (`native`: see `encode_frame`)."""
    data = encode_frame(message, native)
    out.write(FRAME_HEADER.pack(len(data)))
    out.write(data)
    out.flush()


def parse_file(
    path: str,
    offset: int,
    products: dict[str, ProductInfo],
    batch_orders: int,
    native: bool,
    out: IO[bytes],
    customers: dict[str, int] | None = None,
) -> None:
    """Parse an orders.csv file from `offset` and write its batches as frames to `out`."""
    report = ImportReport(kind="orders", source=path)
    progress = [0, 0]

    def on_progress(done: int, total: int) -> None:
        progress[:] = [done, total]

    def news() -> tuple[list[tuple[int, str]], list[str]]:
        rejected = [(r.line, r.reason) for r in report.rejected]
        warnings = list(report.warnings)
        report.rejected.clear()
        report.warnings.clear()
        return rejected, warnings

    with open(path, "rb") as stream:
        stream.seek(offset)
        try:
            rows = CsvRows(stream, ORDER_COLUMNS, report, on_progress)
        except Refused as exc:
            write_frame(out, ("refused", str(exc)))
            return
        parser = OrderLines(products, report, batch_orders, native=native, customers=customers)
        for batch in parser.batches(rows):
            if batch:
                fields = (batch.orders, batch.lines, batch.line_numbers, batch.first, batch.again)
                write_frame(out, ("batch", fields, *news(), *progress), native)
    write_frame(out, ("done", *news(), *progress))


def main() -> None:
    """Run one parse job from stdin to stdout."""
    out = sys.stdout.buffer
    gc.disable()  # millions of tuples and no cycles: see core.ingest.files.gc_paused
    try:
        path, offset, products, batch_orders, native, customers = pickle.load(sys.stdin.buffer)
        parse_file(path, offset, products, batch_orders, native, out, customers)
    except BrokenPipeError:  # the importer stopped reading: it failed or was interrupted
        sys.exit(1)
    except Exception:
        write_frame(out, ("error", traceback.format_exc()))
        sys.exit(1)


if __name__ == "__main__":
    main()
