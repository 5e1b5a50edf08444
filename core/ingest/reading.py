"""Streaming a CSV file: UTF-8 checked line by line, header mapped, progress reported.

The file is never held in memory: it is read and decoded a block (1 MiB) at a time. A block with
bytes that are not UTF-8 is decoded line by line, so that such a line is rejected by its number
while the rest of the file is still read.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import IO, Any

from core.ingest.report import ImportReport

ProgressCallback = Callable[[int, int], None]
_BLOCK = 1 << 20  # bytes read at a time; progress is reported once per block
_FIELD_LIMIT = 1_000_000  # characters in a field
csv.field_size_limit(_FIELD_LIMIT)


@dataclass(frozen=True)
class Columns:
    """The columns of one CSV contract."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()  # at least one of these must be present

    @property
    def all(self) -> tuple[str, ...]:
        return self.required + self.one_of + self.optional


class Refused(Exception):
    """The whole file is refused (empty, no header, a required column missing)."""


def stream_size(stream: IO[Any]) -> int:
    """The total size in bytes of a file-like stream, or 0 when it cannot be known."""
    try:
        return os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        pass
    try:
        here = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        stream.seek(here)
        return int(end - here)
    except (AttributeError, OSError, io.UnsupportedOperation):
        return 0


class CsvRows:
    """The data rows of a CSV stream as `(line number, values in column order)`.

    `values` holds the contract's columns in `Columns.all` order; an absent optional column
    reads as "". Rows that cannot be read (bad UTF-8, wrong field count) are rejected into the
    report and skipped.

    A block of plain lines (no quote, no lone carriage return, no line longer than a field
    may be) reads the same with `str.split(",")` as with the csv module, in a quarter less CPU
    for the whole of this class (measured on 1M order lines). From the first block that is not
    plain, the rest of the file is read by a csv reader, as before.
    """

    def __init__(
        self,
        stream: IO[Any],
        columns: Columns,
        report: ImportReport,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.report = report
        self.on_progress = on_progress
        self.total_bytes = stream_size(stream)
        self.bytes_read = 0
        self._bad_lines: dict[int, str] = {}
        self._texts = self._blocks(stream)
        self._lines: list[str] = []  # plain lines of the current block not read yet
        self._line = 0  # lines read so far, but for those of the csv reader
        self._reader: Any = None  # the csv reader of the rest of the file, once there is one
        self._offset = 0  # the lines before the csv reader's first
        self.header = self._read_header()
        self.present = self._map_columns(columns)

    def _blocks(self, stream: IO[Any]) -> Iterator[str]:
        """The text, decoded a block at a time (a block ends at a newline)."""
        tail: bytes | str = b""
        first_line = 1
        while True:
            block = stream.read(_BLOCK)
            if not block:
                break
            self.bytes_read += len(block)
            data = tail + block if tail else block
            # "\n" never occurs inside a multi-byte UTF-8 character: a safe place to cut
            cut = data.rfind(b"\n" if isinstance(data, bytes) else "\n") + 1
            if cut == 0:
                tail = data
                continue
            data, tail = data[:cut], data[cut:]
            yield self._text(data, first_line)
            first_line += data.count(b"\n" if isinstance(data, bytes) else "\n")
            if self.on_progress is not None:
                self.on_progress(self.bytes_read, max(self.total_bytes, self.bytes_read))
        if tail:
            yield self._text(tail, first_line)
        if self.on_progress is not None:
            self.on_progress(self.bytes_read, max(self.total_bytes, self.bytes_read))

    def _text(self, data: bytes | str, first_line: int) -> str:
        if isinstance(data, bytes):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = self._decode_by_line(data, first_line)
        else:
            text = data
        if first_line == 1 and text.startswith("\ufeff"):
            text = text[1:]
        return text

    def _decode_by_line(self, data: bytes, first_line: int) -> str:
        """The slow path for a block with bytes that are not UTF-8: find each bad line."""
        parts = []
        for n, raw in enumerate(data.split(b"\n"), start=first_line):
            try:
                parts.append(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                self._bad_lines[n] = (
                    f"line {n} is not UTF-8 text (byte 0x{raw[exc.start]:02X} at "
                    f"position {exc.start + 1}); save the file as UTF-8"
                )
                parts.append(raw.decode("utf-8", "replace"))
        return "\n".join(parts)

    def _next_block(self) -> bool:
        """Read the next block into `_lines` when plain, else start the csv reader; False at end."""
        text = next(self._texts, None)
        if text is None:
            return False
        plain = text
        if "\r" in plain and plain.count("\r") == plain.count("\r\n"):
            # outside quotes, the csv reader ends a row at "\r\n" as at "\n"
            plain = plain.replace("\r\n", "\n")
        lines = plain.split("\n")
        if lines[-1] == "":  # the block ends with a newline
            lines.pop()
        if '"' in plain or "\r" in plain or max(map(len, lines), default=0) > _FIELD_LIMIT:
            self._offset = self._line  # the lines before the reader's (it counts from 0)
            self._reader = csv.reader(
                itertools.chain.from_iterable(
                    io.StringIO(t, newline="") for t in itertools.chain((text,), self._texts)
                )
            )
        else:
            self._lines = lines
        return True

    def _records(self) -> Iterator[tuple[int, list[str]]]:
        """(last line, values) of each record, while reading the header: blank ones too."""
        while True:
            if self._reader is not None:
                for values in self._reader:
                    yield self._offset + self._reader.line_num, values
                return
            if self._lines:
                text = self._lines.pop(0)
                self._line += 1
                yield self._line, text.split(",") if text else []
            elif not self._next_block():
                return

    def _read_header(self) -> list[str]:
        for last, values in self._records():
            for n in range(1, last + 1):
                if n in self._bad_lines:
                    raise Refused(f"the header: {self._bad_lines[n]}")
            if not any(v.strip() for v in values):
                continue
            return [v.strip().lower() for v in values]
        raise Refused("the file is empty: it needs a header row and at least one data row")

    def _map_columns(self, columns: Columns) -> dict[str, int]:
        index: dict[str, int] = {}
        unknown: list[str] = []
        for i, name in enumerate(self.header):
            if not name:
                continue
            if name in index:
                raise Refused(f"column {name!r} appears twice in the header")
            if name in columns.all:
                index[name] = i
            else:
                unknown.append(name)
        missing = [c for c in columns.required if c not in index]
        if missing:
            raise Refused(
                f"required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                f"missing from the header (found: {', '.join(self.header)})"
            )
        if columns.one_of and not any(c in index for c in columns.one_of):
            raise Refused(f"the header needs a column {' or '.join(columns.one_of)}")
        if unknown:
            self.report.warn(f"unknown columns ignored: {', '.join(unknown)}")
        width = len(self.header)
        # an absent column reads index `width`, where every row gets an extra "" appended
        self._getter = itemgetter(*(index.get(c, width) for c in columns.all))
        return index

    def __iter__(self) -> Iterator[tuple[int, tuple[str, ...]]]:
        bad = self._bad_lines
        width = len(self.header)
        getter = self._getter
        while self._reader is None:
            lines, self._lines = self._lines, []
            first = self._line + 1
            self._line += len(lines)
            for line, text in enumerate(lines, first):  # the loop most rows take: keep it short
                values = text.split(",") if text else []
                if (len(values) != width or bad) and not self._readable(line, line, values):
                    continue
                values.append("")
                yield line, getter(values)
            if not self._next_block():
                return
        yield from self._read_csv()

    def _read_csv(self) -> Iterator[tuple[int, tuple[str, ...]]]:
        """The rows of the rest of the file, read by the csv reader."""
        reader = self._reader
        bad = self._bad_lines
        width = len(self.header)
        getter = self._getter
        reject = self.report.reject
        offset = self._offset
        prev = offset + reader.line_num  # the file's lines read so far
        while True:
            try:
                for values in reader:  # the loop every such row takes: keep it short
                    line = prev + 1
                    prev = offset + reader.line_num
                    if (len(values) != width or bad) and not self._readable(line, prev, values):
                        continue
                    values.append("")
                    yield line, getter(values)
                return
            except csv.Error as exc:
                prev = offset + reader.line_num
                reject(prev, f"cannot read the CSV row: {exc}")

    def _readable(self, line: int, last: int, values: list[str]) -> bool:
        """Whether a row of lines line..last is kept; if not, it is rejected or blank."""
        bad = self._bad_lines
        if bad and any(n in bad for n in range(line, last + 1)):
            self.report.reject(line, next(bad[n] for n in range(line, last + 1) if n in bad))
            return False
        width = len(self.header)
        if len(values) != width:
            if values and any(v.strip() for v in values):  # else a blank line
                self.report.reject(
                    line, f"the row has {len(values)} fields but the header has {width}"
                )
            return False
        return True
