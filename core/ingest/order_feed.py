"""Batches of parsed orders for the writer: parsed in this process, or by a parser process.

A large orders.csv on disk is parsed by `core.ingest.parse_worker` in its own process while
this one writes the batches: on two cores the import then takes about max(parse, write)
instead of their sum (measured on 1M lines: README, Benchmark). Anything else (a small file,
an in-memory stream) is parsed here, between writes. Both ways run the same parser, so they
accept, reject and report exactly the same rows.
"""

from __future__ import annotations

import asyncio
import io
import marshal
import os
import pickle
import struct
import sys
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import IO, Any

from core.ingest import orders
from core.ingest.drafts import OrderBatch, ProductInfo
from core.ingest.orders import ORDER_COLUMNS, OrderLines
from core.ingest.reading import CsvRows, ProgressCallback, Refused, stream_size
from core.ingest.report import ImportReport, Rejection

FRAME_HEADER = struct.Struct("<Q")  # each frame from the worker: its length, then its data
PARALLEL_MIN_BYTES = 8 << 20  # from this size a file on disk is parsed in its own process
_BUFFERED = 8 << 20  # bytes of parsed batches the worker may run ahead of the writer


async def order_batches(
    stream: IO[Any],
    products: dict[str, ProductInfo],
    report: ImportReport,
    on_progress: ProgressCallback | None = None,
    *,
    native: bool = False,
    parallel: bool | None = None,
    known_phones: Callable[[], Awaitable[dict[str, int]]] | None = None,
) -> AsyncGenerator[OrderBatch, None]:
    """The orders of an orders.csv stream, batch by batch; refusals and rejections go to report.

    The batches hold rows for the driver (`native`: the driver takes Python values), built
    where they are parsed: off the writing process for a large file.
    `parallel`: None parses a file on disk of PARALLEL_MIN_BYTES or more in a worker process,
    True does so for any file on disk, False never. `known_phones` gives the worker the
    customers' ids by phone (it then hands them over with the orders, a lookup the writing
    process is spared). Close the iterator when done (`aclosing`): that also stops the worker
    if the writer failed.
    """
    path = _file_path(stream) if parallel is not False else None
    if path is not None and (parallel or stream_size(stream) >= PARALLEL_MIN_BYTES):
        job = (path, stream.tell(), products, orders.BATCH_ORDERS, native)
        async for batch in _from_worker(job, known_phones, report, on_progress):
            yield batch
        return
    try:
        rows = CsvRows(stream, ORDER_COLUMNS, report, on_progress)
    except Refused as exc:
        report.refused = str(exc)
        return
    for batch in OrderLines(products, report, native=native).batches(rows):
        if batch:
            yield batch


def encode_frame(message: tuple[Any, ...], native: bool) -> bytes:
    """A frame's data: `marshal` for plain values, `pickle` for Python's (`native`).

    Batches for SQLite hold only tuples, lists, str, int, float and None, which marshal writes
    and reads about twice as fast as pickle (its format is the interpreter's own, and both
    processes run the same one); asyncpg's batches hold Decimal, date and datetime.
    """
    if native:
        return b"p" + pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return b"m" + marshal.dumps(message)


def decode_frame(data: bytes) -> Any:
    """The message `encode_frame` encoded."""
    body = memoryview(data)[1:]
    return marshal.loads(body) if data[:1] == b"m" else pickle.loads(body)


def _file_path(stream: IO[Any]) -> str | None:
    """The path of a binary stream that reads a regular file, if that is what it is."""
    name = getattr(stream, "name", None)
    if not isinstance(stream, io.BufferedReader) or not isinstance(name, str):
        return None
    try:
        if os.path.samestat(os.fstat(stream.fileno()), os.stat(name)):
            return os.path.abspath(name)
    except OSError:
        pass
    return None


def _worker_env() -> dict[str, str]:
    """This environment, with this process's import path (the worker imports the same code)."""
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


async def _from_worker(
    job: tuple[Any, ...],
    known_phones: Callable[[], Awaitable[dict[str, int]]] | None,
    report: ImportReport,
    on_progress: ProgressCallback | None,
) -> AsyncGenerator[OrderBatch, None]:
    # started before the phones are read: the worker imports its modules meanwhile
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "core.ingest.parse_worker",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=_BUFFERED,
        env=_worker_env(),
    )  # fmt: skip
    assert worker.stdin is not None and worker.stdout is not None
    finished = False
    try:
        phones = await known_phones() if known_phones is not None else {}
        worker.stdin.write(pickle.dumps((*job, phones)))
        await worker.stdin.drain()
        worker.stdin.close()
        while True:
            try:
                (size,) = FRAME_HEADER.unpack(await worker.stdout.readexactly(FRAME_HEADER.size))
                message = decode_frame(await worker.stdout.readexactly(size))
            except asyncio.IncompleteReadError:
                code = await worker.wait()
                raise RuntimeError(f"the parser process ended early (exit code {code})") from None
            kind = message[0]
            if kind == "refused":
                report.refused = message[1]
                finished = True
                return
            if kind == "error":
                raise RuntimeError(f"the parser process failed:\n{message[1]}")
            rejected, warnings, done, total = message[-4:]
            report.rejected.extend(Rejection(line, reason) for line, reason in rejected)
            report.warnings.extend(warnings)
            if on_progress is not None and total:
                on_progress(done, total)
            if kind == "done":
                finished = True
                return
            yield OrderBatch(*message[1])
    finally:
        if not finished and worker.returncode is None:
            worker.kill()
        await worker.wait()
