"""Text out of an uploaded evidence file, for search, for pre-filling the upload form from
the document's header and for suggesting the criteria it proves.

``extract_text(path, extension)`` reads a file that the upload checks have already let
in and that sits at a local path. Everything that parses the file (pypdf, the XML parts
of Office and OpenDocument packages, Pillow) runs in a child process with hard limits on
CPU time and memory (``app.sandbox.run_limited``); the OCR tools it starts (Debian's
``pdftoppm`` and ``tesseract``) inherit those limits and each has its own timeout, within
one overall budget. Scanned pages and photos are read by OCR only where ``tesseract``
with its Vietnamese data and ``pdftoppm`` are installed (``ocr_available()``); without
them such files simply give no text.

The text is plain: NFC, lines separated by ``\\n``, spreadsheet cells (and columns a
file separates by tabs) by ``\\t``, runs of spaces and characters that show nothing
removed, at most one empty line in a row, at most MAX_TEXT_CHARS characters.
"""

from __future__ import annotations

import functools
import io
import os
import pathlib
import re
import shutil
import subprocess
import time
import zipfile
import zlib
from dataclasses import dataclass
from xml.etree.ElementTree import ParseError

import pypdf
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps
from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

from app.sandbox import SandboxFailed, run_limited
from app.text import clean

MAX_TEXT_CHARS = 1_000_000
EXTENSIONS = frozenset({"pdf", "docx", "xlsx", "pptx", "odt", "ods", "png", "jpg", "jpeg", "webp"})
IMAGE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "webp"})

# Parsing, in the child process.
PARSE_CPU_SECONDS = 60
PARSE_MEMORY_MEGABYTES = 768
PARSE_WALL_SECONDS = 90
PDF_TEXT_CPU_SECONDS = 40  # pypdf stops reading further pages past this, keeping what it has
MAX_PDF_PAGES = 2000  # pages whose text layer is read
MAX_PART_BYTES = 64 * 2**20  # an XML part of a package larger than this (uncompressed) is refused
MAX_IMAGE_PIXELS = 60_000_000

# OCR: a PDF page with fewer letters and digits than this in its text layer is taken for a
# scan; at most OCR_MAX_PAGES such pages are read, each rendered at OCR_DPI (less for a
# page whose long side would exceed OCR_MAX_SIDE pixels), all within OCR_BUDGET_SECONDS.
MIN_PAGE_CHARS = 32
OCR_MAX_PAGES = 10
OCR_DPI = 300
OCR_MAX_SIDE = 3508  # the long side of an A4 page at 300 dpi
OCR_BUDGET_SECONDS = 240
RENDER_TIMEOUT_SECONDS = 30
OCR_PAGE_TIMEOUT_SECONDS = 90
TOOL_CHECK_TIMEOUT_SECONDS = 15
# One thread per tesseract: OpenMP threads cost more than they give on small pages, and
# jobs already run side by side.
OCR_ENVIRONMENT = {**os.environ, "OMP_THREAD_LIMIT": "1"}

FAILURE_MESSAGES = {
    "unsupported": _l("The text of this type of file cannot be read."),
    "damaged": _l("The text of this file could not be read: the file may be damaged. Open it, save it again "
                  "and upload it again, or upload it as PDF."),
    "encrypted": _l("This PDF is protected by a password, so its text could not be read. Upload a copy "
                    "without a password."),
    "limits": _l("Reading the text of this file took longer or more memory than allowed. Split the file, or "
                 "upload a smaller copy."),
    "ocr_failed": _l("The scanned pages of this file could not be read by OCR. Upload a clearer scan (300 dpi "
                     "or more), or fill in the document's details by hand."),
}


@dataclass(frozen=True)
class Extracted:
    """``text`` as described in the module; ``ocr_used`` is true when OCR read at least one
    page or image; ``pages`` counts PDF pages, slides, spreadsheet sheets, or 1 for an
    image, and is None for a text document (DOCX, ODT), which has no fixed pages."""

    text: str
    ocr_used: bool
    pages: int | None


class ExtractionFailed(Exception):
    """The file's text could not be read. ``code`` is one of FAILURE_MESSAGES
    ("unsupported", "damaged", "encrypted", "limits", "ocr_failed"), ``reason`` a short
    English sentence for the log, ``message`` what to tell the user (translated)."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason

    @property
    def message(self):
        return FAILURE_MESSAGES[self.code]


def extract_text(path: str | os.PathLike, extension: str, *, ocr: bool = True) -> Extracted:
    """The text of the file at ``path``, read as ``extension`` (pdf, docx, xlsx, pptx,
    odt, ods, png, jpg/jpeg, webp). Pages without a text layer and images are read by
    OCR when ``ocr`` is true and ``ocr_available()``; otherwise they give no text.
    Raises ExtractionFailed."""
    extension = extension.lower().lstrip(".")
    if extension not in EXTENSIONS:
        raise ExtractionFailed("unsupported", f"No text reader for .{extension} files.")
    tools = _ocr_tools() if ocr else None
    if extension in IMAGE_EXTENSIONS and tools is None:
        return Extracted("", False, 1)
    absolute = str(pathlib.Path(path).resolve())  # never read as an option by the OCR tools
    wall_seconds = PARSE_WALL_SECONDS + (OCR_BUDGET_SECONDS if tools else 0)
    try:
        found = run_limited(_extract, absolute, extension, tools, wall_seconds - 10, cpu_seconds=PARSE_CPU_SECONDS,
                            memory_megabytes=PARSE_MEMORY_MEGABYTES, wall_seconds=wall_seconds)
    except SandboxFailed as failure:
        if failure.reason == "limits":
            raise ExtractionFailed("limits", "Reading the file went over its time or memory limit.") from None
        last_line = failure.detail.strip().splitlines()[-1:] or ["unknown error"]
        raise ExtractionFailed("damaged", f"The file could not be parsed: {last_line[0][:200]}") from None
    if "failed" in found:
        raise ExtractionFailed(*found["failed"])
    return Extracted(tidy(found["text"]), found["ocr_used"], found["pages"])


def ocr_available() -> bool:
    """Whether scans can be read: ``tesseract`` with its Vietnamese data (``tesseract
    --list-langs`` lists vie) and ``pdftoppm`` are installed. Checked once per process
    (``ocr_available.cache_clear()`` checks again)."""
    return _ocr_tools() is not None


@functools.lru_cache(maxsize=1)
def _ocr_tools() -> tuple[str, str, str] | None:
    """(tesseract, pdftoppm, languages) or None when OCR is off."""
    tesseract, pdftoppm = shutil.which("tesseract"), shutil.which("pdftoppm")
    if not (tesseract and pdftoppm):
        return None
    try:
        listed = subprocess.run([tesseract, "--list-langs"], capture_output=True, timeout=TOOL_CHECK_TIMEOUT_SECONDS,
                                env=OCR_ENVIRONMENT, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    languages = {line.strip() for line in (listed.stdout + listed.stderr).decode("utf-8", "replace").splitlines()}
    if "vie" not in languages:
        return None
    return tesseract, pdftoppm, "vie+eng" if "eng" in languages else "vie"


ocr_available.cache_clear = _ocr_tools.cache_clear


def tidy(raw: str) -> str:
    """``raw`` text as Extracted.text holds it (see the module's docstring)."""
    raw = _CONTROLS.sub("", _LINE_BREAKS.sub("\n", raw))
    lines: list[str] = []
    for line in raw.split("\n"):
        shown = "\t".join(cell for cell in (clean(cell) for cell in line.split("\t")) if cell)
        if shown:
            lines.append(shown)
        elif lines and lines[-1]:
            lines.append("")
    return "\n".join(lines).strip("\n")[:MAX_TEXT_CHARS].rstrip()


_LINE_BREAKS = re.compile("\r\n|[\r\v\f\x85\u2028\u2029]")
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff]")  # Cc but tab and line breaks; Cs


# --- in the child process ------------------------------------------------------------------

class _Failed(Exception):
    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _Full(Exception):
    """Enough text has been read."""


def _budget() -> int:
    """How much raw text to collect: a little above MAX_TEXT_CHARS, as tidying shortens it."""
    return MAX_TEXT_CHARS * 5 // 4


class _Sink:
    """Collects text up to _budget(); raises _Full once it is reached."""

    def __init__(self):
        self.parts: list[str] = []
        self.size = 0
        self.limit = _budget()

    def add(self, text: str) -> None:
        if not text:
            return
        self.parts.append(text)
        self.size += len(text)
        if self.size >= self.limit:
            raise _Full

    def text(self) -> str:
        return "".join(self.parts)


def _extract(path: str, extension: str, tools: tuple[str, str, str] | None, wall_seconds: float) -> dict:
    """In the sandbox: {"text", "ocr_used", "pages"} or {"failed": (code, reason)}."""
    deadline = time.monotonic() + wall_seconds
    try:
        if extension == "pdf":
            return _pdf(path, tools, deadline)
        if extension in IMAGE_EXTENSIONS:
            return _image(path, tools, deadline)
        return _package(path, extension)
    except _Failed as failed:
        return {"failed": (failed.code, failed.reason)}


# PDF

def _pdf(path: str, tools, deadline: float) -> dict:
    try:
        reader = pypdf.PdfReader(path, strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise _Failed("encrypted", "The PDF needs a password.")
        page_count = len(reader.pages)
    except (FileNotDecryptedError, DependencyError) as error:
        raise _Failed("encrypted", f"The PDF cannot be decrypted: {error}") from None
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as error:
        raise _Failed("damaged", f"The PDF cannot be read: {type(error).__name__}: {str(error)[:200]}") from None
    texts: list[str] = []
    scans: list[tuple[int, int]] = []  # (page index, dpi) of pages to read by OCR
    started, size = time.process_time(), 0
    for index in range(min(page_count, MAX_PDF_PAGES)):
        if size >= _budget() or time.process_time() - started > PDF_TEXT_CPU_SECONDS:
            break
        try:
            page = reader.pages[index]
            text = page.extract_text() or ""
        except MemoryError:
            raise
        except Exception:  # noqa: BLE001 - a broken page gives no text; the others still count
            page, text = None, ""
        texts.append(text)
        size += len(text)
        if tools and len(scans) < OCR_MAX_PAGES and _letters(text) < MIN_PAGE_CHARS:
            scans.append((index, _render_dpi(page)))
    ocr_used, failures = False, []
    for index, dpi in scans:
        try:
            image = _run([tools[1], "-f", str(index + 1), "-l", str(index + 1), "-r", str(dpi), "-W",
                          str(OCR_MAX_SIDE), "-H", str(OCR_MAX_SIDE), "-gray", "-png", "-singlefile", path],
                         None, RENDER_TIMEOUT_SECONDS, deadline, "pdftoppm")
            read = _ocr(tools, image, deadline, dpi)
        except _Failed as failed:
            failures.append(failed.reason)
            if failed.code == "limits":
                break
            continue
        ocr_used = True
        if _letters(read) > _letters(texts[index]):
            texts[index] = read
    text = "\n\n".join(texts)
    if failures and not _letters(text):
        raise _Failed("ocr_failed", failures[0])
    return {"text": text, "ocr_used": ocr_used, "pages": page_count}


def _render_dpi(page) -> int:
    """OCR_DPI, or less so that the page's long side stays within OCR_MAX_SIDE pixels."""
    try:
        long_side = max(abs(float(page.mediabox.width)), abs(float(page.mediabox.height)))
    except Exception:  # noqa: BLE001 - no usable page box: pdftoppm's crop still bounds the image
        return OCR_DPI
    if long_side <= 0:
        return OCR_DPI
    return max(36, min(OCR_DPI, int(OCR_MAX_SIDE * 72 / long_side)))


def _letters(text: str) -> int:
    return sum(1 for char in text if char.isalnum())


# Images and OCR

def _image(path: str, tools, deadline: float) -> dict:
    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise _Failed("limits", f"The image has {image.width}x{image.height} pixels.")
            image.draft("L", (OCR_MAX_SIDE, OCR_MAX_SIDE))  # JPEG: decode at a reduced size
            shown = ImageOps.exif_transpose(image).convert("L")
    except Image.DecompressionBombError as error:
        raise _Failed("limits", str(error)[:200]) from None
    except (OSError, ValueError, SyntaxError) as error:
        raise _Failed("damaged", f"The image cannot be decoded: {str(error)[:200]}") from None
    shown.thumbnail((OCR_MAX_SIDE, OCR_MAX_SIDE))
    buffer = io.BytesIO()
    shown.save(buffer, "PNG")
    try:
        text = _ocr(tools, buffer.getvalue(), deadline)
    except _Failed as failed:
        raise _Failed("ocr_failed", failed.reason) from None
    return {"text": text, "ocr_used": True, "pages": 1}


def _ocr(tools, image: bytes, deadline: float, dpi: int | None = None) -> str:
    """The text tesseract reads in PNG ``image``."""
    command = [tools[0], "stdin", "stdout", "-l", tools[2]]
    if dpi:
        command += ["--dpi", str(dpi)]
    return _run(command, image, OCR_PAGE_TIMEOUT_SECONDS, deadline, "tesseract").decode("utf-8", "replace")


def _run(command: list[str], given: bytes | None, timeout: float, deadline: float, name: str) -> bytes:
    """The standard output of ``command`` fed ``given``, within ``timeout`` seconds and
    before ``deadline``. Raises _Failed ("limits" when no time is left)."""
    timeout = min(timeout, deadline - time.monotonic())
    if timeout < 1:
        raise _Failed("limits", "No time left for OCR.")
    try:
        done = subprocess.run(command, input=given, capture_output=True, timeout=timeout, env=OCR_ENVIRONMENT,
                              stdin=None if given is not None else subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise _Failed("ocr_failed", f"{name} took more than {timeout:.0f} s.") from None
    except OSError as error:
        raise _Failed("ocr_failed", f"{name} could not be started: {error}") from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise _Failed("ocr_failed", f"{name} failed: {said[0][:200]}")
    return done.stdout


# Office Open XML and OpenDocument packages

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"

_NUMBERED = re.compile(r"(\d+)\.xml$")


def _package(path: str, extension: str) -> dict:
    sink, pages = _Sink(), None
    try:
        with zipfile.ZipFile(path) as archive:
            try:
                if extension == "docx":
                    _wordprocessing(_part(archive, "word/document.xml"), sink)
                elif extension == "pptx":
                    slides = _numbered(archive, "ppt/slides/slide")
                    pages = len(slides)
                    for name in slides:
                        _drawing(_part(archive, name), sink)
                        sink.add("\n")
                elif extension == "xlsx":
                    sheets = _numbered(archive, "xl/worksheets/sheet")
                    pages = len(sheets)
                    shared = _shared_strings(archive)
                    for name in sheets:
                        _worksheet(_part(archive, name), shared, sink)
                        sink.add("\n")
                else:  # odt, ods
                    tables = _opendocument(_part(archive, "content.xml"), sink, rows=extension == "ods")
                    pages = tables if extension == "ods" else None
            except _Full:
                pass
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, zlib.error) as error:
        raise _Failed("damaged", f"The package cannot be read: {str(error)[:200]}") from None
    except (ParseError, DefusedXmlException, RecursionError) as error:
        raise _Failed("damaged", f"An XML part cannot be read: {type(error).__name__}: {str(error)[:200]}") from None
    return {"text": sink.text(), "ocr_used": False, "pages": pages}


def _part(archive: zipfile.ZipFile, name: str):
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise _Failed("damaged", f"The package has no {name}.") from None
    if info.file_size > MAX_PART_BYTES:
        raise _Failed("limits", f"{name} holds {info.file_size} bytes.")
    return archive.open(info)


def _numbered(archive: zipfile.ZipFile, prefix: str) -> list[str]:
    """The parts named ``prefix<N>.xml``, by N."""
    names = [name for name in archive.namelist() if name.startswith(prefix) and _NUMBERED.search(name)
             and "/" not in name[len(prefix):]]
    return sorted(names, key=lambda name: int(_NUMBERED.search(name).group(1)))


def _events(stream):
    return iterparse(stream, events=("start", "end"), forbid_dtd=True, forbid_entities=True, forbid_external=True)


def _wordprocessing(stream, sink: _Sink) -> None:
    """A WordprocessingML body: one line per paragraph (table cells too), tabs and
    breaks inside runs kept; deleted text, field codes and the fallback copies of text
    boxes left out."""
    in_run = skipped = 0
    for event, element in _events(stream):
        tag = element.tag
        if tag == MC_FALLBACK:
            skipped += 1 if event == "start" else -1
        elif tag == W + "r":
            in_run += 1 if event == "start" else -1
        elif event == "start" or skipped:
            continue
        elif tag == W + "t":
            sink.add(element.text or "")
        elif tag == W + "tab" and in_run:
            sink.add("\t")
        elif tag in (W + "br", W + "cr") and in_run:
            sink.add("\n")
        elif tag == W + "noBreakHyphen":
            sink.add("-")
        elif tag == W + "p":
            sink.add("\n")
            element.clear()


def _drawing(stream, sink: _Sink) -> None:
    """A slide's DrawingML text: one line per paragraph."""
    skipped = 0
    for event, element in _events(stream):
        tag = element.tag
        if tag == MC_FALLBACK:
            skipped += 1 if event == "start" else -1
        elif event == "start" or skipped:
            continue
        elif tag == A + "t":
            sink.add(element.text or "")
        elif tag == A + "br":
            sink.add("\n")
        elif tag == A + "p":
            sink.add("\n")
            element.clear()


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    """The workbook's shared strings (phonetic runs left out), as many as the text
    budget can use."""
    if "xl/sharedStrings.xml" not in archive.namelist():
        return []
    strings: list[str] = []
    current: list[str] = []
    size = phonetic = 0
    for event, element in _events(_part(archive, "xl/sharedStrings.xml")):
        tag = element.tag
        if tag == S + "rPh":
            phonetic += 1 if event == "start" else -1
        elif event == "start":
            continue
        elif tag == S + "t" and not phonetic:
            current.append(element.text or "")
        elif tag == S + "si":
            strings.append("".join(current))
            size += len(strings[-1])
            current = []
            element.clear()
            if size >= _budget():
                break
    return strings


def _worksheet(stream, shared: list[str], sink: _Sink) -> None:
    """One line per row of a worksheet: its text cells (shared, inline and formula
    strings) separated by tabs; numbers and dates are left out."""
    cells: list[str] = []
    kind, value, inline = None, None, []
    for event, element in _events(stream):
        tag = element.tag
        if event == "start":
            if tag == S + "c":
                kind, value, inline = element.get("t"), None, []
            continue
        if tag == S + "v":
            value = element.text
        elif tag == S + "t":
            inline.append(element.text or "")
        elif tag == S + "c":
            if kind == "s" and value is not None and value.strip().isdigit() and int(value) < len(shared):
                cells.append(shared[int(value)])
            elif kind == "inlineStr":
                cells.append("".join(inline))
            elif kind == "str" and value:
                cells.append(value)
        elif tag == S + "row":
            sink.add("\t".join(cell for cell in cells if cell.strip()) + "\n")
            cells = []
            element.clear()


def _opendocument(stream, sink: _Sink, rows: bool) -> int:
    """OpenDocument content: one line per paragraph or heading; with ``rows`` (a
    spreadsheet) one line per table row, its cells separated by tabs. Tracked deletions,
    notes and comments are left out. Returns the number of tables (sheets)."""
    depth = skipped = tables = row_depth = 0
    cell: list[str] | None = None
    row: list[str] = []
    for event, element in _events(stream):
        tag = element.tag
        if tag == TEXT + "tracked-changes":
            skipped += 1 if event == "start" else -1
            continue
        if tag in (TEXT + "p", TEXT + "h"):
            depth += 1 if event == "start" else -1
            if event == "end" and depth == 0:
                if not skipped:
                    try:
                        shown = _odf_paragraph(element)
                    except RecursionError:
                        shown = ""
                    if cell is not None:
                        cell.append(shown)
                    else:
                        sink.add(shown + "\n")
                element.clear()
            continue
        if not rows or depth or skipped:
            if tag == TABLE + "table" and event == "start" and not depth:
                tables += 1
            continue
        if tag == TABLE + "table" and event == "start":
            tables += 1
        elif tag == TABLE + "table" and not row_depth:
            sink.add("\n")  # a blank line between sheets
        elif tag == TABLE + "table-row":
            row_depth += 1 if event == "start" else -1
            if event == "end" and row_depth == 0:
                if row:
                    sink.add("\t".join(row) + "\n")
                row = []
                element.clear()
        elif tag == TABLE + "table-cell" and row_depth == 1:
            if event == "start":
                cell = []
            else:
                shown = " ".join(part for part in cell if part.strip()) if cell else ""
                if shown:
                    row.append(shown)
                cell = None
    return tables


_ODF_SKIPPED = {TEXT + "note", OFFICE + "annotation", OFFICE + "annotation-end", TEXT + "tracked-changes"}


def _odf_paragraph(element) -> str:
    """The text of an OpenDocument paragraph, with its spans, spaces, tabs, line breaks
    and the paragraphs of frames inside it."""
    parts = [element.text or ""]
    for child in element:
        tag = child.tag
        if tag == TEXT + "s":
            count = child.get(TEXT + "c", "1")
            parts.append(" " * min(int(count) if count.isdigit() else 1, 100))
        elif tag == TEXT + "tab":
            parts.append("\t")
        elif tag == TEXT + "line-break":
            parts.append("\n")
        elif tag in (TEXT + "p", TEXT + "h"):
            parts.append("\n" + _odf_paragraph(child) + "\n")
        elif tag not in _ODF_SKIPPED:
            parts.append(_odf_paragraph(child))
        parts.append(child.tail or "")
    return "".join(parts)
