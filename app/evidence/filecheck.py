"""Which uploaded files the portal keeps as evidence, and under what name.

A file is accepted only when its content and its name agree on one of the allowed kinds
(PDF, DOCX, XLSX, PPTX, ODT, ODS, PNG, JPEG, WebP) and a look inside finds nothing that
runs by itself: no macros, no PDF JavaScript or launch actions, no zip bomb, no image
that would take gigabytes to draw (OWASP File Upload Cheat Sheet). Everything that
parses the file (pypdf, zipfile, Pillow) runs in a child process with hard limits
(``app.sandbox``), so a file built to exhaust a parser costs one bounded child.

The uploaded name is never used as a path: ``stored_filename`` keeps it as metadata,
cleaned of what could mislead a person or a program (directories, control and bidi
characters, Windows device names), and ``ascii_filename`` gives the ASCII fallback
a ``Content-Disposition`` header needs."""

from __future__ import annotations

import io
import logging
import os
import posixpath
import re
import struct
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.errors import UnsupportedType, ValidationFailed
from app.sandbox import SandboxFailed, run_limited
from app.text import INVISIBLE_MARKS

log = logging.getLogger(__name__)


class UnsafeFile(UnsupportedType):
    """A file refused by its content or its name (415). ``message`` is the text users
    read; ``reason`` a short code saying why (for logs and tests)."""

    def __init__(self, message: str, reason: str = "unsafe"):
        super().__init__(message)
        self.reason = reason


class EmptyFile(ValidationFailed):
    """A zero-byte file, or one that ends before its content does (400)."""

    def __init__(self, message: str, reason: str = "empty"):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class FileKind:
    extension: str  # canonical: "pdf", "docx", "xlsx", "pptx", "odt", "ods", "png", "jpg", "webp"
    content_type: str  # the type the file is stored and served with
    is_image: bool
    previewable: bool  # may be shown inline (PDF and images, under a CSP sandbox)


ALLOWED: dict[str, FileKind] = {kind.extension: kind for kind in (
    FileKind("pdf", "application/pdf", False, True),
    FileKind("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", False, False),
    FileKind("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", False, False),
    FileKind("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", False, False),
    FileKind("odt", "application/vnd.oasis.opendocument.text", False, False),
    FileKind("ods", "application/vnd.oasis.opendocument.spreadsheet", False, False),
    FileKind("png", "image/png", True, True),
    FileKind("jpg", "image/jpeg", True, True),
    FileKind("webp", "image/webp", True, True),
)}
EXTENSION_ALIASES = {"jpeg": "jpg"}
ACCEPTED_TYPES = "PDF, DOCX, XLSX, PPTX, ODT, ODS, PNG, JPEG, WebP"
# For an <input type="file" accept="...">: a hint to the browser, never a check.
ACCEPT_ATTRIBUTE = ",".join(f".{extension}" for extension in [*ALLOWED, *EXTENSION_ALIASES])

# Limits. A photo of 60 megapixels takes 240 MB once decoded; a real document has far
# fewer parts, and far less compressible ones, than the limits below allow.
MAX_PIXELS = 60_000_000
# Pillow draws a WebP through libwebp's animation decoder, which holds two more canvases:
# 12 bytes a pixel in all, so the sandbox's memory allows less.
PIXEL_LIMITS = {"png": MAX_PIXELS, "jpeg": MAX_PIXELS, "webp": 25_000_000}
MAX_PARTS = 2_000
MAX_UNPACKED_BYTES = 200 * 2**20
MAX_RATIO = 100  # uncompressed:compressed, checked on parts larger than RATIO_FROM_BYTES
RATIO_FROM_BYTES = 2**20
MAX_SMALL_PART_BYTES = 2**20  # [Content_Types].xml, relationships, manifest, mimetype
MAX_FRAMES = 1_000
SANDBOX_LIMITS = {"cpu_seconds": 10, "memory_megabytes": 512, "wall_seconds": 20}
# Objects of a PDF read one by one by pypdf (about 0.1 ms each) besides the byte scan;
# a larger document relies on the byte scan and on its object streams' decoded text.
OBJECT_WALK_LIMIT = 20_000

# Names a PDF uses for what runs, opens or carries something by itself: scripts, launched
# programs, attached files, Flash/media players, XML forms (which carry scripts).
ACTIVE_PDF_NAMES = frozenset({"JavaScript", "JS", "Launch", "EmbeddedFile", "EmbeddedFiles", "FileAttachment",
                              "RichMedia", "XFA"})
# Markup a browser would act on: in the first kilobyte of a binary file it marks a polyglot.
MARKUP = (b"<html", b"<head", b"<body", b"<script", b"<svg", b"<!doctype", b"<iframe", b"<?php", b"<object",
          b"<embed")

MAX_NAME_LENGTH = 200
FALLBACK_NAME = "tep-minh-chung"


# Names -----------------------------------------------------------------------------------

DROPPED_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}  # controls, format (bidi, zero-width), surrogates, line breaks
PATH_SEPARATORS = re.compile(r"[/\\]")
SEPARATOR_LOOKALIKES = str.maketrans(dict.fromkeys("\u2044\u2215\u2216\u29f5\u29f8\u29f9\ufe68\uff0f\uff3c", "_"))
EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,10})$")
WINDOWS_DEVICES = frozenset({"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
                             *(f"{port}{digit}" for port in ("COM", "LPT") for digit in "0123456789¹²³")})
ASCII_KEPT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ._-()[]+")
ASCII_DROPPED = frozenset("\"'\\`")


def stored_filename(filename: str) -> str:
    """The name ``filename`` is kept under, as metadata only: in NFC, without control and
    format characters (bidi overrides, zero-width characters, NUL, CR/LF) or any directory
    part (``/`` or ``\\``), a Windows device name (CON, NUL, COM1, LPT1…) prefixed with
    ``_``, without leading or trailing dots and spaces, at most 200 characters with its
    extension kept, and never empty (``tep-minh-chung`` with the extension). Vietnamese
    letters stay as they are."""
    text = INVISIBLE_MARKS.sub("", unicodedata.normalize("NFC", str(filename or "")))
    text = "".join(char for char in text if unicodedata.category(char) not in DROPPED_CATEGORIES)
    parts = [part for part in PATH_SEPARATORS.split(text) if part.strip(" .")]
    text = parts[-1] if parts else ""
    text = " ".join(unicodedata.normalize("NFC", text).translate(SEPARATOR_LOOKALIKES).split())
    return _finished(text)


def ascii_filename(filename: str) -> str:
    """``stored_filename(filename)`` in ASCII, for ``Content-Disposition``'s ``filename=``:
    diacritics folded (đ as d), quotes and backslashes removed, other characters outside
    letters, digits and ``._-()[]+`` and space replaced by ``_``."""
    name = stored_filename(filename).replace("đ", "d").replace("Đ", "D")
    characters = []
    for char in unicodedata.normalize("NFKD", name):
        if unicodedata.combining(char) or char in ASCII_DROPPED:
            continue
        characters.append(char if char in ASCII_KEPT else "_")
    text = " ".join(re.sub(r"_{2,}", "_", "".join(characters)).split())
    return _finished(text, ascii_only=True)


def _finished(text: str, ascii_only: bool = False) -> str:
    """``text`` split into stem and extension, with the rules both names share."""
    text = text.rstrip(" .")
    match = EXTENSION.search(text)
    stem, extension = (text[:match.start()], match.group(0)) if match else (text, "")
    stem = stem.strip(" ._") if ascii_only else stem.lstrip(" .")
    if not stem:
        stem = FALLBACK_NAME
    if stem.split(".")[0].rstrip(" ").upper() in WINDOWS_DEVICES:
        stem = "_" + stem
    room = MAX_NAME_LENGTH - len(extension)
    while True:
        name = unicodedata.normalize("NFC", (stem if len(stem) <= room else stem[:room].rstrip(" .")) + extension)
        if len(name) <= MAX_NAME_LENGTH:  # at once in practice: NFC does not lengthen a prefix of NFC text
            return name
        room -= 1


def extension_of(filename: str) -> str:
    """The lower-case extension of ``stored_filename(filename)``, without its dot ("" if none)."""
    match = EXTENSION.search(stored_filename(filename))
    return match.group(1).lower() if match else ""


# What a file is ------------------------------------------------------------------------------

DESCRIPTIONS = {
    "pdf": _l("a PDF document"),
    "docx": _l("a Word document (DOCX)"),
    "xlsx": _l("an Excel workbook (XLSX)"),
    "pptx": _l("a PowerPoint presentation (PPTX)"),
    "odt": _l("an OpenDocument text (ODT)"),
    "ods": _l("an OpenDocument spreadsheet (ODS)"),
    "png": _l("a PNG image"),
    "jpg": _l("a JPEG image"),
    "webp": _l("a WebP image"),
    "executable": _l("a program (executable file)"),
    "script": _l("a script"),
    "html": _l("a web page (HTML)"),
    "svg": _l("an SVG image"),
    "xml": _l("XML data"),
    "text": _l("plain text"),
    "zip": _l("a zip archive"),
    "archive": _l("a compressed archive (RAR, 7z, gzip…)"),
    "gif": _l("a GIF image"),
    "bmp": _l("a BMP image"),
    "tiff": _l("a TIFF image"),
    "heic": _l("a HEIC, HEIF or AVIF photo"),
    "media": _l("an audio or video file"),
    "rtf": _l("an RTF document"),
    "odf_other": _l("an OpenDocument file of another kind (presentation, drawing, template…)"),
    "ooxml_other": _l("an Office file of another kind (template, binary workbook…)"),
}
SNIFFED_KINDS = {"pdf": "pdf", "png": "png", "jpeg": "jpg", "webp": "webp"}
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                    b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"\x00asm", b"dex\n")
ARCHIVE_MAGIC = (b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd",
                 b"MSCF", b"\x60\xea", b"xar!")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
HEAD_BYTES = 4096


def sniff(head: bytes) -> str | None:
    """What the first bytes of a file say it is: a key of DESCRIPTIONS, "jpeg", "ole"
    (an old or password-protected Office file), or None when they say nothing known."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    if head.startswith(OLE_MAGIC):
        return "ole"
    if head.startswith(EXECUTABLE_MAGIC):
        return "executable"
    if head.startswith(ARCHIVE_MAGIC) or head[257:262] == b"ustar":
        return "archive"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head[:2] == b"BM" and len(head) >= 18 and struct.unpack("<I", head[14:18])[0] in (12, 40, 52, 56, 64, 108, 124):
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[4:8] == b"ftyp":
        return "heic" if head[8:12] in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif",
                                        b"avis") else "media"
    if head[:4] in (b"OggS", b"fLaC", b"\x1aE\xdf\xa3") or head[:3] == b"ID3" or (
            head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"AVI ")):
        return "media"
    if b"%PDF-" in head[:1024]:
        return "pdf"
    return _sniff_text(head)


def _sniff_text(head: bytes) -> str | None:
    text = None
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            text = head[len(bom):].decode(encoding, errors="ignore")
            break
    else:
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as error:
            if error.start < len(head) - 4:  # not merely a character cut at the end of the head
                text = head.decode("latin-1") if _mostly_printable(head) else None
            else:
                text = head[:error.start].decode("utf-8")
    if text is None:
        return None
    start = text.lstrip().lower()
    if start.startswith(("#!", "<?php", "<%", "%!ps")):
        return "script"
    if start.startswith("{\\rtf"):
        return "rtf"
    if "<svg" in start[:2048]:
        return "svg"
    if start.startswith("<?xml") and not any(marker.decode() in start[:1024] for marker in MARKUP):
        return "xml"
    if start.startswith("<") or any(marker.decode() in start[:1024] for marker in MARKUP):
        return "html"
    return "text" if _mostly_printable(text.encode("utf-8", errors="ignore")) else None


def _mostly_printable(data: bytes) -> bool:
    if not data:
        return False
    controls = sum(1 for byte in data if byte < 32 and byte not in (9, 10, 12, 13))
    return controls * 100 < len(data)


def _has_markup(head: bytes) -> bool:
    lowered = head[:1024].lower()
    return any(marker in lowered for marker in MARKUP)


# The check -----------------------------------------------------------------------------------

def check_file(path: str | os.PathLike, filename: str) -> FileKind:
    """The kind of the file at ``path`` (fully written, at most UPLOAD_MAX_MB) uploaded
    as ``filename``. The extension of ``filename`` and the content must agree on an
    allowed kind, and the content must pass that kind's checks. Raises UnsafeFile (415)
    or EmptyFile (400, empty or truncated) with a message saying what is wrong and what
    to do; never anything else for any content."""
    name = stored_filename(filename)
    extension = extension_of(filename)
    kind = ALLOWED.get(EXTENSION_ALIASES.get(extension, extension))
    if kind is None:
        if not extension:
            raise UnsafeFile(_("The file «%(name)s» has no extension, so its type is unknown. Accepted types: "
                               "%(types)s. Name it with the extension of its type (for example .pdf) and upload it "
                               "again.",
                               name=name, types=ACCEPTED_TYPES), "extension")
        raise UnsafeFile(_("Files with the extension «.%(extension)s» are not accepted («%(name)s»). Accepted types: "
                           "%(types)s. Save or export the file as one of these and upload it again.",
                           extension=extension, name=name, types=ACCEPTED_TYPES), "extension")
    size = os.path.getsize(path)
    if size == 0:
        raise EmptyFile(_("The file «%(name)s» is empty (0 bytes). Choose the right file, or open it and save it "
                          "again, then upload it.", name=name), "empty")
    with open(path, "rb") as file:
        head = file.read(HEAD_BYTES)
    found = sniff(head)
    if found in ("pdf", "png", "jpeg", "webp", "zip") and _has_markup(head):
        raise UnsafeFile(_("The file «%(name)s» also holds web page code (HTML, SVG or script) and is refused for "
                           "safety. Open it in the program that made it, save or print a new copy and upload that.",
                           name=name), "polyglot")
    if found in SNIFFED_KINDS and SNIFFED_KINDS[found] != kind.extension:
        raise _misnamed(name, kind, SNIFFED_KINDS[found])
    if found == "ole":
        raise UnsafeFile(_("The file «%(name)s» is an old-format (.doc, .xls, .ppt) or password-protected Office "
                           "file. Open it, remove the password if it has one, and save it as .docx, .xlsx or .pptx "
                           "(or as PDF), then upload it again.", name=name), "ole")
    if found not in SNIFFED_KINDS and found != "zip":
        raise _not_real(name, kind, found)
    outcome, details = _inspect_limited(str(path), found)
    if outcome == "ok":
        if details.get("kind", kind.extension) != kind.extension:
            raise _misnamed(name, kind, details["kind"])
        return kind
    raise _refusal(outcome, details, name, kind)


def _inspect_limited(path: str, found: str) -> tuple[str, dict]:
    try:
        return run_limited(inspect_file, path, found, **SANDBOX_LIMITS)
    except SandboxFailed as failure:
        if failure.reason == "limits":
            return ("limits", {})
        log.warning("Checking an uploaded file (%s) failed: %s", found, failure.detail)
        return ("damaged", {})


def _misnamed(name: str, kind: FileKind, actual: str) -> UnsafeFile:
    return UnsafeFile(_("The file «%(name)s» is named .%(extension)s but holds %(found)s. Rename it with the "
                        "extension .%(right)s and upload it again.", name=name, extension=extension_of(name),
                        found=DESCRIPTIONS[actual], right=actual), "mismatch")


def _not_real(name: str, kind: FileKind, found: str | None) -> UnsafeFile:
    if found is None:
        return UnsafeFile(_("The file «%(name)s» is not really %(expected)s: its content is not recognised. Open it "
                            "in the program that made it and save it again as %(expected)s.",
                            name=name, expected=DESCRIPTIONS[kind.extension]), "mismatch")
    return UnsafeFile(_("The file «%(name)s» is not really %(expected)s: it holds %(found)s, which is not accepted. "
                        "Accepted types: %(types)s. Save or export it as one of these and upload it again.",
                        name=name, expected=DESCRIPTIONS[kind.extension],
                        found=DESCRIPTIONS[found], types=ACCEPTED_TYPES), "mismatch")


def _refusal(outcome: str, details: dict, name: str, kind: FileKind) -> UnsafeFile | EmptyFile:
    expected = DESCRIPTIONS[kind.extension]
    if outcome == "truncated":
        return EmptyFile(_("The file «%(name)s» is truncated or damaged: it ends before its content does. Upload it "
                           "again, or open the original and save a new copy.", name=name), "truncated")
    if outcome == "other":
        return _not_real(name, kind, details["found"])
    if outcome == "pixels":
        return UnsafeFile(_("The image «%(name)s» is %(width)d × %(height)d pixels, more than the %(limit)d "
                            "megapixels accepted. Make it smaller (for example 4000 pixels on its longest side) and "
                            "upload it again.", name=name, width=details["width"], height=details["height"],
                            limit=details["limit"] // 1_000_000), "pixels")
    if outcome == "active_pdf":
        return UnsafeFile(_("The PDF «%(name)s» contains scripts, actions or attachments that are not accepted "
                            "(%(what)s). Print it to a new PDF (Print, then Save as PDF) and upload that copy.",
                            name=name, what=", ".join(details["names"])), "active_pdf")
    if outcome == "encrypted":
        return UnsafeFile(_("The file «%(name)s» is protected by a password. Upload a copy without a password "
                            "(open it, remove the password or print it to a new PDF, and save).", name=name),
                          "encrypted")
    if outcome == "macros":
        return UnsafeFile(_("The file «%(name)s» contains macros, which are not accepted. Save it as a file without "
                            "macros (.docx, .xlsx, .pptx, .odt, .ods or PDF) and upload it again.", name=name),
                          "macros")
    if outcome == "active_content":
        return UnsafeFile(_("The file «%(name)s» contains active content (ActiveX controls or a template loaded from "
                            "outside the document), which is not accepted. Save it as a new document without them, "
                            "or export it as PDF.", name=name), "active_content")
    if outcome == "too_many_parts":
        return UnsafeFile(_("The file «%(name)s» has %(count)d parts inside; at most %(limit)d are accepted. Save it "
                            "again more simply, or export it as PDF.", name=name, count=details["count"],
                            limit=MAX_PARTS), "too_many_parts")
    if outcome == "too_big_unpacked":
        return UnsafeFile(_("The file «%(name)s» would unpack to more than %(limit)d MB. Split it into smaller "
                            "files, or export it as PDF.", name=name, limit=MAX_UNPACKED_BYTES // 2**20),
                          "too_big_unpacked")
    if outcome == "zip_bomb":
        return UnsafeFile(_("The file «%(name)s» has a part compressed far more than in a normal document (a zip "
                            "bomb) and is refused for safety. Save it again from Word, Excel or LibreOffice, or "
                            "export it as PDF.", name=name), "zip_bomb")
    if outcome == "unsafe_part":
        return UnsafeFile(_("The file «%(name)s» has a part with an unsafe name («%(part)s») and is refused for "
                            "safety. Save it again from Word, Excel or LibreOffice.", name=name,
                            part=details["part"]), "unsafe_part")
    if outcome == "limits":
        return UnsafeFile(_("Checking the file «%(name)s» would take longer or more memory than allowed. Save it "
                            "again more simply (for example export it as PDF, or make the image smaller) and upload "
                            "it again.", name=name), "limits")
    return UnsafeFile(_("The file «%(name)s» could not be read as %(expected)s: it is damaged or not made the usual "
                        "way. Open it in the program that made it, save a new copy and upload that.",
                        name=name, expected=expected), "damaged")


# Inside the sandbox ----------------------------------------------------------------------------
# These run in the child process: they return ("ok", {...}) or (outcome, {...}) for
# ``_refusal``; an exception they let through is reported as a damaged file.

def inspect_file(path: str, found: str) -> tuple[str, dict]:
    """The verdict on the file at ``path`` whose first bytes say ``found`` ("pdf", "zip",
    "png", "jpeg", "webp"). Call it through ``run_limited``: it parses untrusted data."""
    logging.disable(logging.CRITICAL)  # the libraries' complaints about a bad file are the verdict's business
    warnings.simplefilter("ignore")
    if found == "pdf":
        return _inspect_pdf(path)
    if found == "zip":
        return _inspect_package(path)
    return _inspect_image(path, found)


# PDF



def _pdf_name_pattern(names) -> re.Pattern:
    """A pattern for the PDF names ``names``, each character written as itself or as a
    ``#xx`` escape (``/J#61vaScript``), ending where a PDF name ends."""
    def character(char: str) -> str:
        digits = "".join(f"[{digit}{digit.upper()}]" if digit.isalpha() else digit for digit in f"{ord(char):02x}")
        return f"(?:{re.escape(char)}|#{digits})"
    spelled = "|".join("".join(character(char) for char in name) for name in sorted(names, key=len, reverse=True))
    return re.compile(f"/(?:{spelled})(?=[\\x00\\t\\n\\x0c\\r ()<>\\[\\]{{}}/%]|$)".encode())


ACTIVE_PDF_NAME = _pdf_name_pattern(ACTIVE_PDF_NAMES)
PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
STREAM_START = re.compile(rb"(?:>>|[\x00\t\n\x0c\r ])stream(?:\r\n|\n|\r)")


def _inspect_pdf(path: str) -> tuple[str, dict]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    with open(path, "rb") as file:
        data = file.read()
    if b"%%EOF" not in data[-1024:]:
        return ("truncated", {})
    active = _active_names_in_bytes(data)
    if active:
        return ("active_pdf", {"names": sorted(active)})
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    return ("encrypted", {})
            except (DependencyError, FileNotDecryptedError, NotImplementedError):
                return ("encrypted", {})
        if len(reader.pages) == 0:
            return ("damaged", {})
        active = _active_names_in_objects(reader)
    except FileNotDecryptedError:
        return ("encrypted", {})
    except MemoryError:  # the sandbox's limit: its verdict, not ours
        raise
    except Exception:  # noqa: BLE001 - pypdf raises many kinds for a broken file
        return ("damaged", {})
    if active:
        return ("active_pdf", {"names": sorted(active)})
    return ("ok", {"kind": "pdf"})


def _active_names_in_bytes(data: bytes) -> set[str]:
    """The ACTIVE_PDF_NAMES written in ``data`` outside stream bodies, ``#xx`` escapes
    read. Stream bodies are left to ``_active_names_in_objects``: compressed data holds
    any bytes, and text shown on a page may mention any name."""
    found: set[str] = set()
    position = 0
    while position < len(data):
        start = STREAM_START.search(data, position)
        found |= _active_names_in_text(data, position, len(data) if start is None else start.end())
        if start is None:
            break
        stream_end = data.find(b"endstream", start.end())
        position = len(data) if stream_end < 0 else stream_end + len(b"endstream")
    return found


def _active_names_in_text(data: bytes, start: int = 0, end: int | None = None) -> set[str]:
    matches = ACTIVE_PDF_NAME.finditer(data, start, len(data) if end is None else end)
    return {PDF_NAME_ESCAPE.sub(lambda escape: bytes([int(escape.group(1), 16)]), match.group(0)[1:]).decode("latin-1")
            for match in matches}


def _active_names_in_objects(reader) -> set[str]:
    """The ACTIVE_PDF_NAMES the byte scan cannot see or may have missed: in every
    compressed object stream (its decoded text scanned like the file's bytes), and, in a
    document of at most OBJECT_WALK_LIMIT other objects, as keys or values of each object
    pypdf reads through the cross-reference tables."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

    found: set[str] = set()
    packed = dict(reader.xref_objStm)
    for number in sorted({stream for stream, _index in packed.values()}):
        try:
            found |= _active_names_in_text(reader.get_object(IndirectObject(number, 0, reader)).get_data())
        except MemoryError:  # the sandbox's limit: its verdict, not ours
            raise
        except Exception:  # noqa: BLE001 - an object no reader can load does nothing either
            continue
    references = [(number, generation) for generation, numbers in list(reader.xref.items()) for number in numbers
                  if number not in packed]
    if len(references) > OBJECT_WALK_LIMIT:
        return found
    for number, generation in references:
        try:
            pending = [reader.get_object(IndirectObject(number, generation, reader))]
        except MemoryError:
            raise
        except Exception:  # noqa: BLE001
            continue
        while pending:
            value = pending.pop()
            if isinstance(value, DictionaryObject):
                for key, item in dict.items(value):
                    if str(key)[1:] in ACTIVE_PDF_NAMES:
                        found.add(str(key)[1:])
                    if not isinstance(item, IndirectObject):
                        pending.append(item)
            elif isinstance(value, ArrayObject):
                pending.extend(item for item in list.__iter__(value) if not isinstance(item, IndirectObject))
            elif isinstance(value, NameObject) and str(value)[1:] in ACTIVE_PDF_NAMES:
                found.add(str(value)[1:])
    return found


# Office and OpenDocument packages

OOXML_MAIN_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": "pptx",
}
ODF_TYPES = {b"application/vnd.oasis.opendocument.text": "odt",
             b"application/vnd.oasis.opendocument.spreadsheet": "ods"}
MACRO_CONTENT_TYPES = ("macroenabled", "vbaproject", "macrosheet", "vnd.ms-excel.intlmacrosheet")
# Relationships Office follows by itself when the document opens: a remote template,
# frame, sub-document or OLE object can fetch and run code from anywhere.
FETCHED_RELATIONSHIPS = ("attachedtemplate", "oleobject", "frame", "subdocument")
ODF_LIBRARY_FILES = {"script-lc.xml", "script-lb.xml", "dialog-lc.xml", "dialog-lb.xml"}
ODF_SCRIPT_CALLS = (b"vnd.sun.star.script:", b"vnd.sun.star.basic:", b"macro:///")
WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


def _inspect_package(path: str) -> tuple[str, dict]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        return ("truncated", {})  # it starts like a zip but has no directory at its end
    except (OSError, ValueError, EOFError, struct.error, NotImplementedError):
        return ("damaged", {})
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_PARTS:
            return ("too_many_parts", {"count": len(infos)})
        refusal = _check_directory(infos)
        if refusal:
            return refusal
        names = {info.filename for info in infos}
        lowered = [name.lower() for name in names]
        if any(name.rsplit("/", 1)[-1].startswith("vbaproject") or name.endswith("/vbadata.xml")
               for name in lowered):
            return ("macros", {})
        if any("activex" in name.split("/")[:-1] for name in lowered):
            return ("active_content", {})
        if "mimetype" in names:
            return _inspect_opendocument(archive, names)
        if "[Content_Types].xml" in names:
            return _inspect_ooxml(archive, names)
        return ("other", {"found": "zip"})


def _check_directory(infos) -> tuple[str, dict] | None:
    """A refusal for the zip directory ``infos``, or None when it looks like a document's."""
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.orig_filename
        segments = name.replace("\\", "/").split("/")
        if (not name or name.startswith(("/", "\\")) or "\\" in name or WINDOWS_DRIVE.match(name) or ".." in segments
                or any(unicodedata.category(char) in DROPPED_CATEGORIES for char in name)
                or name.lower() in seen):
            return ("unsafe_part", {"part": stored_filename(name)[:80]})
        seen.add(name.lower())
        if info.flag_bits & 0x1:
            return ("encrypted", {})
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return ("damaged", {})
        total += info.file_size
        if info.file_size > RATIO_FROM_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            return ("zip_bomb", {})
    if total > MAX_UNPACKED_BYTES:
        return ("too_big_unpacked", {})
    return None


def _small_part(archive: zipfile.ZipFile, name: str) -> bytes | None:
    """The bytes of the part ``name``, or None if it is larger than a small part may be."""
    if archive.getinfo(name).file_size > MAX_SMALL_PART_BYTES:
        return None
    with archive.open(name) as part:
        return part.read(MAX_SMALL_PART_BYTES + 1)[:MAX_SMALL_PART_BYTES + 1]


def _xml(data: bytes | None):
    from defusedxml import ElementTree

    if data is None:
        raise ValueError("part too large")
    return ElementTree.fromstring(data, forbid_dtd=True)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _inspect_ooxml(archive: zipfile.ZipFile, names: set[str]) -> tuple[str, dict]:
    try:
        types = _xml(_small_part(archive, "[Content_Types].xml"))
        defaults = {item.get("Extension", "").lower(): item.get("ContentType", "")
                    for item in types if _local(item.tag) == "Default"}
        overrides = {item.get("PartName", "").lower(): item.get("ContentType", "")
                     for item in types if _local(item.tag) == "Override"}
        if any(marker in content_type.lower() for content_type in [*defaults.values(), *overrides.values()]
               for marker in MACRO_CONTENT_TYPES):
            return ("macros", {})
        if any("activex" in content_type.lower() for content_type in overrides.values()):
            return ("active_content", {})
        if "_rels/.rels" not in names:
            return ("other", {"found": "zip"})
        targets = [item.get("Target", "") for item in _xml(_small_part(archive, "_rels/.rels"))
                   if item.get("Type", "").endswith("/officeDocument")]
        if len(targets) != 1:
            return ("other", {"found": "zip"})
        main = posixpath.normpath(targets[0].lstrip("/"))
        if main.lower() not in {name.lower() for name in names}:
            return ("damaged", {})
        content_type = overrides.get("/" + main.lower()) or defaults.get(main.rsplit(".", 1)[-1].lower(), "")
        if content_type not in OOXML_MAIN_TYPES:
            return ("other", {"found": "ooxml_other"})
        read = 0
        for name in sorted(names):
            if not name.lower().endswith(".rels"):
                continue
            data = _small_part(archive, name)
            read += len(data or b"")
            if data is None or read > 20 * MAX_SMALL_PART_BYTES:
                return ("damaged", {})
            for item in _xml(data):
                kind = item.get("Type", "").rsplit("/", 1)[-1].lower()
                if item.get("TargetMode", "").lower() == "external" and kind in FETCHED_RELATIONSHIPS:
                    return ("active_content", {})
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - unreadable XML, a part that lies about its size…
        return ("damaged", {})
    return ("ok", {"kind": OOXML_MAIN_TYPES[content_type]})


def _inspect_opendocument(archive: zipfile.ZipFile, names: set[str]) -> tuple[str, dict]:
    try:
        mimetype = _small_part(archive, "mimetype")
        if mimetype not in ODF_TYPES:
            other = mimetype is not None and mimetype.startswith(b"application/vnd.oasis.opendocument.")
            return ("other", {"found": "odf_other" if other else "zip"})
        if "content.xml" not in names or "META-INF/manifest.xml" not in names:
            return ("damaged", {})
        manifest = _small_part(archive, "META-INF/manifest.xml")
        if manifest is None:
            return ("damaged", {})
        if b"encryption-data" in manifest:
            return ("encrypted", {})
        for name in names:
            if name.startswith("Scripts/") and not name.endswith("/"):
                return ("macros", {})
            library_file = name.rsplit("/", 1)[-1] in ODF_LIBRARY_FILES
            if name.startswith("Basic/") and not name.endswith("/") and not library_file:
                return ("macros", {})
        for name in ("content.xml", "styles.xml"):
            if name in names and _calls_scripts(archive, name):
                return ("macros", {})
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - a part that lies about its size or does not inflate
        return ("damaged", {})
    return ("ok", {"kind": ODF_TYPES[mimetype]})


def _calls_scripts(archive: zipfile.ZipFile, name: str) -> bool:
    """Whether the part ``name`` calls a macro or script (an event listener, a link)."""
    keep = max(len(call) for call in ODF_SCRIPT_CALLS)
    tail = b""
    with archive.open(name) as part:
        while chunk := part.read(2**20):
            window = tail + chunk
            if any(call in window for call in ODF_SCRIPT_CALLS):
                return True
            tail = window[-keep:]
    return False


# Images

PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


def _inspect_image(path: str, found: str) -> tuple[str, dict]:
    from PIL import Image

    limit = PIXEL_LIMITS[found]
    Image.MAX_IMAGE_PIXELS = limit
    declared = _png_declared(path) if found == "png" else _webp_declared(path) if found == "webp" else None
    if isinstance(declared, tuple) and declared[0] in ("truncated", "damaged"):
        return declared
    if declared and declared[0] * declared[1] > limit:
        return ("pixels", {"width": declared[0], "height": declared[1], "limit": limit})
    kind = "jpg" if found == "jpeg" else found
    try:
        with Image.open(path, formats=[PIL_FORMATS[found]]) as image:
            width, height = image.size
            if width * height > limit:
                return ("pixels", {"width": width, "height": height, "limit": limit})
            frames = getattr(image, "n_frames", 1)
            if frames > MAX_FRAMES:
                return ("limits", {})
            for frame in range(frames):
                image.seek(frame)
                image.load()
        if found == "png":
            with Image.open(path, formats=["PNG"]) as image:
                image.verify()  # checks the chunks' CRCs, which loading does not
    except Image.DecompressionBombError:  # over twice the limit, refused by Pillow itself while opening
        Image.MAX_IMAGE_PIXELS = None
        with Image.open(path, formats=[PIL_FORMATS[found]]) as image:  # opening reads the header only
            width, height = image.size
        return ("pixels", {"width": width, "height": height, "limit": limit})
    except OSError as error:
        return ("truncated" if "truncated" in str(error).lower() else "damaged", {})
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - Pillow's plugins raise SyntaxError, ValueError, struct.error…
        return ("damaged", {})
    return ("ok", {"kind": kind})


def _png_declared(path: str):
    """(width, height) from the IHDR of a PNG whose chunks all fit in the file and end
    with IEND; ("truncated", {}) or ("damaged", {}) otherwise."""
    size = os.path.getsize(path)
    declared = None
    with open(path, "rb") as file:
        file.seek(8)
        while True:
            header = file.read(8)
            if len(header) < 8:
                return ("truncated", {})
            length, chunk = struct.unpack(">I4s", header)
            if declared is None:
                if chunk != b"IHDR" or length != 13:
                    return ("damaged", {})
                dimensions = file.read(8)
                if len(dimensions) < 8:
                    return ("truncated", {})
                declared = struct.unpack(">II", dimensions)
                file.seek(-8, os.SEEK_CUR)
            if file.tell() + length + 4 > size:
                return ("truncated", {})
            if chunk == b"IEND":
                return declared
            file.seek(length + 4, os.SEEK_CUR)


def _webp_declared(path: str):
    """(width, height) from a WebP's first chunk, ("truncated", {}) if the file is
    shorter than its RIFF header says, None if the header is not one known."""
    with open(path, "rb") as file:
        head = file.read(30)
    if len(head) < 30 or struct.unpack("<I", head[4:8])[0] + 8 > os.path.getsize(path):
        return ("truncated", {})
    chunk = head[12:16]
    if chunk == b"VP8X":
        return (1 + int.from_bytes(head[24:27], "little"), 1 + int.from_bytes(head[27:30], "little"))
    if chunk == b"VP8L" and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
        return (struct.unpack("<H", head[26:28])[0] & 0x3FFF, struct.unpack("<H", head[28:30])[0] & 0x3FFF)
    return None
