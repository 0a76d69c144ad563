"""The evidence of Trường Tiểu học Chu Văn An's 2022–2023 self-assessment: the plans,
regulation and decisions its plan 18/KH-THCVA cites, and a few screenshots — small files
made here, uploaded by a staff member through the evidence services and partly reviewed,
so the reviewer has work waiting. With them the school meets its mandatory conditions and
scores Group 1 = 32 (Mức 1) and Group 2 = 58 (Mức 2)."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from xml.sax.saxutils import escape

from werkzeug.datastructures import FileStorage

from app.evidence import services
from app.schools.models import School

ISSUER = "Trường Tiểu học Chu Văn An"

# (file name, title, type, number, issued on, criteria, text of the document, review)
DOCUMENTS = [
    ("KH-18-ung-dung-CNTT-chuyen-doi-so-2022-2023.docx",
     "Kế hoạch ứng dụng công nghệ thông tin, chuyển đổi số năm học 2022-2023", "plan", "18/KH-THCVA",
     date(2023, 2, 16), ["2.2"],
     ["KẾ HOẠCH", "Ứng dụng công nghệ thông tin, chuyển đổi số năm học 2022-2023",
      "Căn cứ Quyết định số 4725/QĐ-BGDĐT ngày 30/12/2022 của Bộ Giáo dục và Đào tạo…",
      "Mục tiêu: đưa nhóm tiêu chí 1 lên Mức 2 trong năm học 2023-2024."], "accepted"),
    ("KH-dạy-học-trực-tuyến-2022-2023.docx", "Kế hoạch tổ chức dạy học trực tuyến năm học 2022-2023", "plan",
     "15/KH-THCVA", date(2022, 9, 12), ["1.1"],
     ["KẾ HOẠCH", "Tổ chức dạy học trực tuyến kết hợp với dạy học trực tiếp năm học 2022-2023",
      "Giáo viên tổ chức dạy học trực tuyến qua Google Meet khi học sinh không thể đến trường."], "accepted"),
    ("Quy-che-day-hoc-truc-tuyen.docx", "Quy chế tổ chức dạy học trực tuyến", "regulation", "16/QĐ-THCVA",
     date(2022, 9, 15), ["1.2"],
     ["QUY CHẾ", "Tổ chức dạy học trực tuyến trong Trường Tiểu học Chu Văn An",
      "Điều 1. Phạm vi điều chỉnh và đối tượng áp dụng…"], "accepted"),
    ("QD-thanh-lap-BCD-chuyen-doi-so.docx", "Quyết định thành lập Ban chỉ đạo chuyển đổi số", "decision",
     "05/QĐ-THCVA", date(2022, 9, 5), ["2.1"],
     ["QUYẾT ĐỊNH", "Về việc thành lập Ban chỉ đạo ứng dụng công nghệ thông tin, chuyển đổi số",
      "Điều 1. Thành lập Ban chỉ đạo gồm các ông (bà) có tên sau: Nguyễn Thị Hoa – Hiệu trưởng – Trưởng ban…"],
     "accepted"),
    ("QD-11-quy-che-he-thong-quan-tri.docx",
     "Quyết định ban hành Quy chế sử dụng hệ thống quản trị nhà trường", "decision", "11/QĐ-CVA",
     date(2023, 2, 15), ["2.3.a"],
     ["QUYẾT ĐỊNH", "Ban hành Quy chế sử dụng hệ thống quản trị nhà trường",
      "Điều 1. Ban hành kèm theo Quyết định này Quy chế sử dụng hệ thống quản trị nhà trường fbot."], None),
    ("anh-google-meet-lop-5A.png", "Ảnh chụp màn hình tiết học trực tuyến lớp 5A qua Google Meet", "screenshot",
     "", None, ["1.3.a"], [], None),
    ("anh-nhom-zalo-phu-huynh.png", "Ảnh chụp nhóm Zalo liên lạc với phụ huynh lớp 3B", "screenshot", "", None,
     ["2.4.a"], [], None),
]


def load(school: School, uploader, reviewer) -> None:
    """Upload the documents as ``uploader`` and review some as ``reviewer``."""
    for filename, title, doc_type, number, issued_on, criteria, text, review in DOCUMENTS:
        heading = [f"Số: {number}", f"Đắk Song, ngày {issued_on:%d} tháng {issued_on:%m} năm {issued_on:%Y}"] \
            if number else []
        content = word_document(heading + text) if filename.endswith(".docx") else screenshot(title)
        document = services.create_document(uploader, school, {
            "title": title, "doc_type": doc_type, "number": number, "issuer": ISSUER if number else "",
            "issued_on": issued_on.isoformat() if issued_on else None, "criteria": criteria,
        }, [FileStorage(io.BytesIO(content), filename=filename)])
        if review:
            for code in criteria:
                services.review_link(reviewer, document, code, {"decision": review})


def word_document(paragraphs: list[str]) -> bytes:
    """A small Word document: the school's header, then ``paragraphs``."""
    lines = ["UBND HUYỆN ĐẮK SONG", ISSUER.upper(), "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
             "Độc lập - Tự do - Hạnh phúc", *paragraphs]
    body = "".join(f"<w:p><w:r><w:t>{escape(line)}</w:t></w:r></w:p>" for line in lines)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'))
        package.writestr("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="word/document.xml"/></Relationships>'))
        package.writestr("word/document.xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f'<w:body>{body}</w:body></w:document>'))
    return out.getvalue()


def screenshot(title: str) -> bytes:
    """A small PNG that looks like a screen: a title bar (in the reports' font, which has
    the Vietnamese letters) and a grid of video tiles."""
    from PIL import Image, ImageDraw, ImageFont

    from app.reports.pdf import FONT_DIR

    image = Image.new("RGB", (480, 300), "#f1f3f4")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 480, 28), fill="#1a73e8")
    font = ImageFont.truetype(str(FONT_DIR / "LiberationSerif-Regular.ttf"), 15)
    draw.text((10, 6), title if draw.textlength(title, font=font) <= 460 else title[:56] + "…", fill="white",
              font=font)
    for row in range(2):
        for column in range(3):
            left, top = 16 + column * 152, 44 + row * 124
            draw.rectangle((left, top, left + 140, top + 112), fill="#3c4043")
            draw.ellipse((left + 50, top + 36, left + 90, top + 76), fill="#8ab4f8")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
