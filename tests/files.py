"""Small real files of each accepted kind, made on the fly for the tests."""

from __future__ import annotations

import io

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # Debian's fonts-dejavu-core


def pdf(text: str = "Quyet dinh so 11/QD-CVA") -> bytes:
    """A one-page PDF with ``text`` (ASCII) in its text layer, offsets and xref exact. A
    line of the school's name follows, so that the page has enough text not to be taken
    for a scan (which would be read by OCR)."""
    stream = (f"BT /F1 14 Tf 72 720 Td ({text}) Tj ET "
              "BT /F1 12 Tf 72 700 Td (Truong Tieu hoc Chu Van An, nam hoc 2022-2023) Tj ET").encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return pdf_file(objects)


def pdf_file(objects: list[bytes]) -> bytes:
    """A PDF of ``objects`` (numbered from 1, the first the catalog), offsets and xref exact."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def scan(lines: list[str], size: int = 30):
    """A white grayscale image (Pillow) with ``lines`` in black, as a scanner at 300 dpi
    makes of a line of 7-point text (small, so that OCR stays quick)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(FONT, size)
    image = Image.new("L", (40 + max(int(font.getlength(line)) for line in lines), 30 + 50 * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((20, 15 + 50 * index), line, font=font, fill=0)
    return image


def png(width: int = 40, height: int = 20, color: str = "navy") -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def jpeg(width: int = 40, height: int = 20) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, "JPEG")
    return out.getvalue()


def docx(text: str = "Kế hoạch ứng dụng công nghệ thông tin") -> bytes:
    """A minimal Word document holding ``text`` (the demo's generator)."""
    from app.demo.evidence import word_document

    return word_document([text])


def xlsx() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Thiết bị", "Số lượng"])
    book.active.append(["Máy chiếu", 2])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
