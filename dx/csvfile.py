"""Reading a CSV as spreadsheets save it: UTF-8 with or without BOM, UTF-16 (LE or BE, with its BOM, Excel's
"Unicode text"), and the delimiter `,`, `;` (Excel's default where the decimal separator is a comma, as in the
Vietnamese locale) or a tab, chosen by the header row."""

import codecs
import csv
import io
from collections.abc import Iterator, Sequence

DELIMITERS = (",", ";", "\t")
SAVE_AS = "save it as 'CSV UTF-8' (Excel) or 'Text CSV', character set UTF-8 (LibreOffice)"


class CsvError(ValueError):
    """The file cannot be read as text, with what to do about it."""


def decode(data: bytes, name: str) -> str:
    """The text of a CSV file: the BOM decides UTF-16 LE/BE or UTF-8; without one it must be UTF-8."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as err:
            raise CsvError(f"{name}: not valid UTF-16 at byte {err.start}") from err
    if b"\x00" in data[:4096]:  # no text CSV holds NUL bytes; UTF-16 without its BOM is full of them
        raise CsvError(f"{name}: UTF-16 without a byte-order mark (or not text at all): {SAVE_AS}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise CsvError(f"{name}: not UTF-8 (byte {err.start}): {SAVE_AS}") from err


def delimiter(text: str, expected: Sequence[str]) -> str:
    """The delimiter whose split of the header row names the most `expected` columns (ties: the order of
    DELIMITERS); a file with none of them is read with a comma, so that the missing columns are reported."""
    header = next(iter(text.splitlines()), "")

    def named(sep: str) -> int:
        cells = next(csv.reader([header], delimiter=sep), [])
        return len({c.strip().lower() for c in cells} & set(expected))

    return max(DELIMITERS, key=lambda sep: (named(sep), -DELIMITERS.index(sep)))


def csv_cells(data: bytes, name: str, expected: Sequence[str]) -> Iterator[list[str]]:
    """The rows of a CSV file's bytes, decoded and split with its own delimiter."""
    text = decode(data, name)
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter(text, expected))
