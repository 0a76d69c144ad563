"""Text out of uploaded evidence files: the text layer of PDFs, OCR of scanned pages and
photos (Debian's tesseract with Vietnamese data and poppler's pdftoppm, which CI
installs), the XML of Office and OpenDocument packages; limits and failures. Every file is
made here."""

from __future__ import annotations

import io
import os
import stat
import zipfile
import zlib
from datetime import date

import pytest
from PIL import Image

from app.demo.evidence import screenshot
from app.evidence import extraction
from app.evidence.extraction import Extracted, ExtractionFailed, extract_text, ocr_available, tidy
from app.evidence.header import read_header
from app.sandbox import SandboxFailed
from app.search import fold
from tests.files import pdf_file, scan

pytestmark = pytest.mark.database_free

DECISION_HEADER = ["UBND HUYỆN ĐẮK SONG", "TRƯỜNG TIỂU HỌC CHU VĂN AN", "Số: 11/QĐ-CVA",
                   "Đắk Song, ngày 15 tháng 02 năm 2023", "QUYẾT ĐỊNH",
                   "Về việc ban hành Quy chế sử dụng hệ thống quản trị nhà trường"]


@pytest.fixture(autouse=True)
def _fresh_ocr_check():
    ocr_available.cache_clear()
    yield
    ocr_available.cache_clear()


def written(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- files made for the tests ----------------------------------------------------------

def image_bytes(image: Image.Image, kind: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


def pdf(*pages) -> bytes:
    """A PDF, offsets and xref exact, with one page per argument: a list of text lines (a
    text layer in a Type0 font whose ToUnicode map gives Vietnamese text back), or an
    image (a scanned page: the image at 300 dpi, no text)."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    def stream(data: bytes, extra: bytes = b"") -> bytes:
        return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"

    add(b"<< /Type /Catalog /Pages 2 0 R >>")
    add(b"")  # the page tree, once its kids are known
    characters = sorted({char for page in pages if isinstance(page, list) for line in page for char in line})
    cmap = ("/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
            "1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
            f"{len(characters)} beginbfchar\n"
            + "".join(f"<{ord(char):04X}> <{ord(char):04X}>\n" for char in characters)
            + "endbfchar endcmap CMapName currentdict /CMap defineresource pop end end\n").encode()
    to_unicode = add(stream(cmap))
    descriptor = add(b"<< /Type /FontDescriptor /FontName /DejaVuSans /Flags 32 /FontBBox [0 -240 1000 930] "
                     b"/ItalicAngle 0 /Ascent 930 /Descent -240 /CapHeight 730 /StemV 80 >>")
    cid_font = add(b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /DejaVuSans /CIDSystemInfo << /Registry "
                   b"(Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor %d 0 R /DW 600 >>" % descriptor)
    font = add(b"<< /Type /Font /Subtype /Type0 /BaseFont /DejaVuSans /Encoding /Identity-H /DescendantFonts "
               b"[%d 0 R] /ToUnicode %d 0 R >>" % (cid_font, to_unicode))
    kids = []
    for page in pages:
        if isinstance(page, list):
            shown = b" T* ".join(b"<%s> Tj" % line.encode("utf-16-be").hex().encode() for line in page)
            content = add(stream(b"BT /F1 11 Tf 14 TL 40 800 Td " + shown + b" ET"))
            kids.append(add(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
                            b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (content, font)))
        else:
            width, height = page.width * 72 / 300, page.height * 72 / 300
            picture = add(stream(zlib.compress(page.tobytes()), b"/Type /XObject /Subtype /Image /Width %d "
                                 b"/Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode "
                                 % (page.width, page.height)))
            content = add(stream(b"q %.2f 0 0 %.2f 0 0 cm /Im1 Do Q" % (width, height)))
            kids.append(add(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Contents %d 0 R "
                            b"/Resources << /XObject << /Im1 %d 0 R >> >> >>" % (width, height, content, picture)))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % kid for kid in kids), len(kids))
    return pdf_file(objects)


def package(parts: dict[str, str | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
MC_NS = 'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'


def docx(body: str) -> bytes:
    return package({
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                               'content-types"><Override PartName="/word/document.xml" ContentType="application/'
                               'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        "word/document.xml": f'<?xml version="1.0" encoding="UTF-8"?><w:document {W_NS} {MC_NS}><w:body>{body}'
                             '</w:body></w:document>',
    })


def paragraph(*runs: str) -> str:
    return "<w:p><w:pPr><w:tabs><w:tab w:val=\"left\" w:pos=\"720\"/></w:tabs></w:pPr>" + "".join(
        f"<w:r><w:t xml:space=\"preserve\">{run}</w:t></w:r>" for run in runs) + "</w:p>"


def cell(*lines: str) -> str:
    return "<w:tc>" + "".join(paragraph(line) for line in lines) + "</w:tc>"


# --- PDF ---------------------------------------------------------------------------------

def test_a_pdf_gives_its_vietnamese_text_layer_and_a_scanned_page_is_read_by_ocr(tmp_path):
    path = written(tmp_path, "plan.pdf", pdf(
        ["KẾ HOẠCH", "Tổ chức dạy học trực tuyến năm học 2022 - 2023"],
        scan(["QUYẾT ĐỊNH", "Thành lập Ban chỉ đạo chuyển đổi số"])))
    assert ocr_available()

    found = extract_text(path, "pdf")

    assert found.pages == 2 and found.ocr_used
    assert found.text.startswith("KẾ HOẠCH\nTổ chức dạy học trực tuyến năm học 2022 - 2023\n")
    assert "quyet dinh" in fold(found.text) and "ban chi dao chuyen doi so" in fold(found.text)

    without_ocr = extract_text(path, "pdf", ocr=False)
    assert without_ocr == Extracted("KẾ HOẠCH\nTổ chức dạy học trực tuyến năm học 2022 - 2023", False, 2)


def test_ocr_reads_at_most_the_first_scanned_pages_it_is_allowed(tmp_path, monkeypatch):
    monkeypatch.setattr(extraction, "OCR_MAX_PAGES", 2)
    path = written(tmp_path, "scans.pdf", pdf(*(scan([f"Trang {number} hồ sơ"]) for number in (1, 2, 3))))

    found = extract_text(path, "pdf")

    assert found.pages == 3 and found.ocr_used
    assert "trang 1" in fold(found.text) and "trang 2" in fold(found.text) and "trang 3" not in fold(found.text)


def test_a_pdf_locked_with_a_password_is_refused_as_such(tmp_path):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf(["Bí mật"]))))
    writer.encrypt("secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)

    with pytest.raises(ExtractionFailed) as failed:
        extract_text(written(tmp_path, "locked.pdf", out.getvalue()), "pdf")
    assert failed.value.code == "encrypted"
    assert str(failed.value.message) == "This PDF is protected by a password, so its text could not be read. " \
                                        "Upload a copy without a password."


@pytest.mark.parametrize("data", [b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog", b"%PDF-1.7\n" + b"\x00" * 300],
                         ids=["truncated", "garbage"])
def test_a_broken_pdf_fails_with_a_reason(tmp_path, data):
    with pytest.raises(ExtractionFailed) as failed:
        extract_text(written(tmp_path, "broken.pdf", data), "pdf")
    assert failed.value.code == "damaged" and failed.value.reason


# --- photos and scans as images ------------------------------------------------------------

@pytest.mark.parametrize(("extension", "kind", "options"), [
    ("png", "PNG", {}), ("jpg", "JPEG", {"quality": 92}), ("webp", "WEBP", {"lossless": True})])
def test_a_photo_of_a_decision_is_read_by_ocr_and_its_header_prefills_the_form(tmp_path, extension, kind, options):
    path = written(tmp_path, f"scan.{extension}", image_bytes(scan(DECISION_HEADER), kind, **options))

    found = extract_text(path, extension)

    assert (found.ocr_used, found.pages) == (True, 1)
    assert "chu van an" in fold(found.text) and "he thong quan tri nha truong" in fold(found.text)
    header = read_header(found.text)
    assert (header.number, header.issued_on, header.doc_type) == ("11/QĐ-CVA", date(2023, 2, 15), "decision")
    assert fold(header.issuer) == "truong tieu hoc chu van an"


def test_a_phone_photo_is_turned_upright_by_its_exif_orientation_before_ocr(tmp_path):
    upright = scan(["Biên bản kiểm kê thiết bị phòng học"])
    stored = upright.rotate(90, expand=True)  # the camera was held sideways
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to show"
    path = written(tmp_path, "photo.jpg", image_bytes(stored, "JPEG", quality=92, exif=exif))

    assert "bien ban kiem ke thiet bi phong hoc" in fold(extract_text(path, "jpg").text)


def test_the_demo_schools_screenshots_show_their_vietnamese_titles(tmp_path):
    path = written(tmp_path, "demo.png", screenshot("Ảnh chụp buổi họp trực tuyến tổ chuyên môn"))

    assert "chụp buổi họp trực tuyến tổ chuyên môn" in extract_text(path, "png").text


def test_without_ocr_images_give_no_text_and_everything_else_still_works(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # neither tesseract nor pdftoppm can be found
    ocr_available.cache_clear()
    photo = written(tmp_path, "scan.png", image_bytes(scan(["QUYẾT ĐỊNH"]), "PNG"))
    text_pdf = written(tmp_path, "plan.pdf", pdf(["KẾ HOẠCH ứng dụng CNTT"], scan(["QUYẾT ĐỊNH"])))

    assert not ocr_available()
    assert extract_text(photo, "png") == Extracted("", False, 1)
    assert extract_text(text_pdf, "pdf") == Extracted("KẾ HOẠCH ứng dụng CNTT", False, 2)


def fake_tesseract(tmp_path, monkeypatch, script: str) -> None:
    """A ``tesseract`` that lists Vietnamese and then runs ``script``, ahead of the real
    tools on PATH."""
    tool = tmp_path / "bin" / "tesseract"
    tool.parent.mkdir()
    tool.write_text('#!/bin/sh\nif [ "$1" = "--list-langs" ]; then printf "List:\\neng\\nvie\\n"; exit 0; fi\n'
                    + script)
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tool.parent}{os.pathsep}{os.environ['PATH']}")
    ocr_available.cache_clear()


def test_an_ocr_that_fails_or_hangs_ends_with_a_reason(tmp_path, monkeypatch):
    photo = written(tmp_path, "scan.png", image_bytes(scan(["QUYẾT ĐỊNH"]), "PNG"))
    fake_tesseract(tmp_path, monkeypatch, 'echo "Error: cannot read input" >&2\nexit 1\n')
    with pytest.raises(ExtractionFailed) as failed:
        extract_text(photo, "png")
    assert (failed.value.code, failed.value.reason) == ("ocr_failed", "tesseract failed: Error: cannot read input")

    monkeypatch.setattr(extraction, "OCR_PAGE_TIMEOUT_SECONDS", 1)
    (tmp_path / "bin" / "tesseract").write_text('#!/bin/sh\nif [ "$1" = "--list-langs" ]; then printf "vie\\n"; '
                                                'exit 0; fi\nexec sleep 30\n')
    with pytest.raises(ExtractionFailed) as failed:
        extract_text(photo, "png")
    assert (failed.value.code, failed.value.reason) == ("ocr_failed", "tesseract took more than 1 s.")


# --- Office and OpenDocument packages ------------------------------------------------------

def test_a_word_document_gives_paragraphs_and_table_cells_as_lines(tmp_path):
    text_box = ('<w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><w:txbxContent>'
                + paragraph("Dự thảo") + '</w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict>'
                + paragraph("Dự thảo") + '</w:pict></mc:Fallback></mc:AlternateContent></w:r>')
    body = ("<w:tbl><w:tr>" + cell("UBND HUYỆN ĐẮK SONG", "TRƯỜNG TIỂU HỌC CHU VĂN AN", "Số: 18/KH-THCVA")
            + cell("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                   "Đắk Song, ngày 16 tháng 02 năm 2023") + "</w:tr></w:tbl>"
            + paragraph("KẾ HOẠCH") + "<w:p>" + text_box + "</w:p>"
            + "<w:p><w:r><w:t>Ứng dụng</w:t><w:tab/><w:t>CNTT</w:t><w:br/><w:t>năm học 2022 – 2023</w:t></w:r>"
            + "<w:del><w:r><w:delText>đã xoá</w:delText></w:r></w:del>"
            + "<w:r><w:instrText> PAGE </w:instrText></w:r></w:p>")
    found = extract_text(written(tmp_path, "plan.docx", docx(body)), "docx")

    assert found == Extracted("UBND HUYỆN ĐẮK SONG\nTRƯỜNG TIỂU HỌC CHU VĂN AN\nSố: 18/KH-THCVA\n"
                              "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\n"
                              "Đắk Song, ngày 16 tháng 02 năm 2023\nKẾ HOẠCH\nDự thảo\n\n"
                              "Ứng dụng\tCNTT\nnăm học 2022 – 2023", False, None)
    header = read_header(found.text)
    assert header == type(header)("18/KH-THCVA", date(2023, 2, 16), "TRƯỜNG TIỂU HỌC CHU VĂN AN", "plan")


def test_a_workbook_gives_one_line_per_row_with_its_text_cells(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Thiết bị", "Số lượng", "Tình trạng"])
    book.active.append(["Máy chiếu", 2, "Đang sử dụng"])
    book.create_sheet("Phần mềm").append(["Google Meet", "=\"Dạy học\"&\" trực tuyến\""])
    out = io.BytesIO()
    book.save(out)

    found = extract_text(written(tmp_path, "inventory.xlsx", out.getvalue()), "xlsx")

    assert found == Extracted("Thiết bị\tSố lượng\tTình trạng\nMáy chiếu\tĐang sử dụng\n\nGoogle Meet", False, 2)


def test_a_workbook_reads_inline_strings_and_leaves_phonetic_runs_out(tmp_path):
    main = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    data = package({
        "xl/sharedStrings.xml": f'<sst {main}><si><t>Học bạ</t><rPh><t>x</t></rPh></si>'
                                '<si><r><t>điện </t></r><r><t>tử</t></r></si></sst>',
        "xl/worksheets/sheet1.xml": f'<worksheet {main}><sheetData><row><c t="s"><v>0</v></c><c t="s"><v>1</v></c>'
                                    '<c t="s"><v>7</v></c><c t="inlineStr"><is><t>vnEdu</t></is></c>'
                                    '<c t="str"><f>A1</f><v>Học bạ</v></c><c><v>44970</v></c></row></sheetData>'
                                    '</worksheet>',
    })
    found = extract_text(written(tmp_path, "book.xlsx", data), "xlsx")
    assert found == Extracted("Học bạ\tđiện tử\tvnEdu\tHọc bạ", False, 1)


def test_a_presentation_gives_its_slides_in_order(tmp_path):
    def slide(*lines: str) -> str:
        return ('<p:sld xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" '
                'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><p:cSld><p:spTree><p:sp><p:txBody>'
                + "".join(f"<a:p><a:r><a:t>{line}</a:t></a:r></a:p>" for line in lines)
                + "</p:txBody></p:sp></p:spTree></p:cSld></p:sld>")

    data = package({"ppt/slides/slide10.xml": slide("Slide mười"), "ppt/slides/slide2.xml": slide("Hai"),
                    "ppt/slides/slide1.xml": slide("Tập huấn", "chuyển đổi số"),
                    "ppt/slides/_rels/slide1.xml.rels": "<Relationships/>"})
    found = extract_text(written(tmp_path, "deck.pptx", data), "pptx")
    assert found == Extracted("Tập huấn\nchuyển đổi số\n\nHai\n\nSlide mười", False, 3)


ODF = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
       'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
       'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"')


def opendocument(body: str) -> bytes:
    return package({"mimetype": "application/vnd.oasis.opendocument.text",
                    "content.xml": f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODF}>'
                                   f'<office:body><office:text>{body}</office:text></office:body>'
                                   '</office:document-content>'})


def test_an_opendocument_text_gives_its_paragraphs_without_notes_comments_or_deletions(tmp_path):
    body = ('<text:tracked-changes><text:changed-region><text:deletion><text:p>đã xoá</text:p></text:deletion>'
            '</text:changed-region></text:tracked-changes>'
            '<table:table><table:table-row><table:table-cell><text:p>PHÒNG GD&amp;ĐT ĐẮK SONG</text:p>'
            '<text:p>Số: 05/BC-PGD</text:p></table:table-cell><table:table-cell><text:p>Độc lập</text:p>'
            '</table:table-cell></table:table-row></table:table>'
            '<text:h>BÁO CÁO</text:h>'
            '<text:p>Kết quả<text:s text:c="3"/>tự đánh giá<text:tab/>năm<text:line-break/>2023'
            '<text:note><text:note-citation>1</text:note-citation><text:note-body><text:p>chú thích</text:p>'
            '</text:note-body></text:note><office:annotation><text:p>nhận xét</text:p></office:annotation>'
            '<text:span> (bản <text:span>chính</text:span>)</text:span></text:p>')
    found = extract_text(written(tmp_path, "report.odt", opendocument(body)), "odt")
    assert found == Extracted("PHÒNG GD&ĐT ĐẮK SONG\nSố: 05/BC-PGD\nĐộc lập\nBÁO CÁO\nKết quả tự đánh giá\tnăm\n"
                              "2023 (bản chính)", False, None)


def test_an_opendocument_spreadsheet_gives_one_line_per_row(tmp_path):
    rows = ('<table:table table:name="Thiết bị"><table:table-row><table:table-cell><text:p>Ti vi</text:p>'
            '</table:table-cell><table:table-cell table:number-columns-repeated="16000"/><table:table-cell>'
            '<text:p>12</text:p></table:table-cell></table:table-row>'
            '<table:table-row table:number-rows-repeated="1000000"><table:table-cell/></table:table-row>'
            '</table:table><table:table table:name="Khác"><table:table-row><table:table-cell><text:p>Máy chiếu'
            '</text:p><text:p>(2 chiếc)</text:p></table:table-cell></table:table-row></table:table>')
    data = opendocument(rows).replace(b"office:text>", b"office:spreadsheet>")
    found = extract_text(written(tmp_path, "inventory.ods", data), "ods")
    assert found == Extracted("Ti vi\t12\n\nMáy chiếu (2 chiếc)", False, 2)


@pytest.mark.parametrize(("extension", "data", "code"), [
    ("docx", b"PK\x03\x04 truncated", "damaged"),
    ("docx", package({"word/other.xml": "<x/>"}), "damaged"),
    ("docx", package({"word/document.xml": '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaa">'
                                           '<!ENTITY b "&a;&a;&a;&a;">]><w:document>&b;</w:document>'}), "damaged"),
    ("odt", package({"content.xml": "<office:document-content><unclosed>"}), "damaged"),
    ("svg", b"<svg/>", "unsupported"),
], ids=["not a zip", "no document part", "entities (billion laughs)", "broken XML", "unsupported type"])
def test_a_package_that_cannot_be_read_fails_with_a_reason(tmp_path, extension, data, code):
    with pytest.raises(ExtractionFailed) as failed:
        extract_text(written(tmp_path, f"file.{extension}", data), extension)
    assert failed.value.code == code and failed.value.reason
    assert str(failed.value.message)


# --- limits --------------------------------------------------------------------------------

def test_the_text_is_cut_at_its_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(extraction, "MAX_TEXT_CHARS", 1000)
    body = "".join(paragraph(f"Dòng {number} của kế hoạch") for number in range(5000))
    found = extract_text(written(tmp_path, "long.docx", docx(body)), "docx")
    assert len(found.text) <= 1000 and found.text.startswith("Dòng 0 của kế hoạch\nDòng 1 ")


def test_a_part_too_large_is_refused_by_its_declared_size(tmp_path, monkeypatch):
    monkeypatch.setattr(extraction, "MAX_PART_BYTES", 10_000)
    body = paragraph("kế hoạch " * 2000)
    with pytest.raises(ExtractionFailed) as failed:
        extract_text(written(tmp_path, "big.docx", docx(body)), "docx")
    assert failed.value.code == "limits"


@pytest.mark.parametrize(("sandbox_reason", "code"), [("limits", "limits"), ("error", "damaged")])
def test_a_parse_that_breaks_its_sandbox_is_reported(tmp_path, monkeypatch, sandbox_reason, code):
    def failing(*args, **kwargs):
        raise SandboxFailed(sandbox_reason, "Traceback ...\nValueError: odd file")

    monkeypatch.setattr(extraction, "run_limited", failing)
    with pytest.raises(ExtractionFailed) as failed:
        extract_text(written(tmp_path, "plan.pdf", pdf(["x"])), "pdf")
    assert failed.value.code == code


def test_tidy_keeps_lines_and_columns_and_drops_what_shows_nothing():
    raw = ("Ke\u0302\u0301 hoa\u0323ch\x00 \u200b số\u00a0 18\r\n\t \tcột  hai\t\n\n\n\x0cTrang 2\u2028dòng\x07 mới  ")
    assert tidy(raw) == "Kế hoạch số 18\ncột hai\n\nTrang 2\ndòng mới"
