"""Schools around the demo school, each with an inventory drawn from a seeded random
source, so the district's pages compare schools that differ: some classrooms connected
or not, a lab of some size, some of the demo school's software, teachers with some
skills. ``fill`` is also what the benches use to generate a district of many schools."""

from __future__ import annotations

import random

from app.demo.inventory import SOFTWARE_IN_USE, TEACHERS
from app.inventory import services
from app.inventory.services import COLLECTIONS
from app.schools.models import School

# (code, name, level): the neighbours of Trường Tiểu học Chu Văn An in the demo district.
NEIGHBOURS = [
    ("THKD", "Trường Tiểu học Kim Đồng", "tieu_hoc"),
    ("THCSND", "Trường THCS Nguyễn Du", "thcs"),
    ("THCSLQD", "Trường THCS Lê Quý Đôn", "thcs"),
    ("THTP", "Trường TH và THCS Trần Phú", "lien_cap"),
]
EXTRA_SOFTWARE = [  # capabilities the demo school lacks, which some neighbours have
    ("Sổ điểm, học bạ điện tử", "https://sodiem.edu.vn", "management", "rented", ["e_gradebook", "e_transcript"]),
    ("LMS – lớp học trực tuyến", "https://lms.edu.vn", "teaching", "rented",
     ["lms", "lms_assign_self_study", "lms_answer_questions", "lms_regular_assessment", "online_teaching"]),
    ("Thi trắc nghiệm trên máy tính", "https://thi.edu.vn", "teaching", "rented", ["computer_based_testing"]),
]


def school_data(code: str, name: str, level: str, province: str, district: str, rng: random.Random) -> dict:
    classes = rng.randint(8, 30)
    return {"code": code, "name": name, "level": level, "province": province, "district": district,
            "classes": classes, "students": classes * rng.randint(28, 40), "teachers": classes + rng.randint(2, 12),
            "largest_class_size": rng.randint(30, 45)}


def fill(school: School, rng: random.Random) -> None:
    """Enter a plausible random inventory into ``school`` (an empty one), through the
    inventory services as a school would."""
    classrooms = [f"Phòng học {number}" for number in range(1, school.classes + 1)]
    share = rng.random()
    rooms = [{"name": room, "kind": "classroom", "internet": rng.random() < share} for room in classrooms]
    rooms += [{"name": "Phòng Tin học", "kind": "computer_lab", "internet": True},
              {"name": "Văn phòng", "kind": "office", "internet": True}]
    created = {room.name: room for room in services.create_records(None, school, COLLECTIONS["rooms"], rooms)}
    equipment = [{"kind": "tv", "name": "Tivi", "room_id": created[name].id,
                  "status": "in_use" if rng.random() < 0.9 else "broken"}
                 for name in classrooms if rng.random() < share + 0.2]
    equipment += [{"kind": "desktop", "name": "Máy tính phòng Tin học", "room_id": created["Phòng Tin học"].id,
                   "status": "in_use" if rng.random() < 0.85 else "broken"} for _ in range(rng.randint(5, 35))]
    services.create_records(None, school, COLLECTIONS["equipment"], equipment)
    services.create_records(None, school, COLLECTIONS["network-lines"], [
        {"provider": rng.choice(["VNPT", "Viettel", "FPT"]), "kind": "fiber",
         "download_mbps": rng.choice([50, 100, 150])}])
    software = rng.sample(SOFTWARE_IN_USE, rng.randint(4, len(SOFTWARE_IN_USE)))
    software += [entry for entry in EXTRA_SOFTWARE if rng.random() < 0.4]
    services.create_records(None, school, COLLECTIONS["software"], [
        {"name": name, "url": url, "category": category, "acquisition": acquisition, "capabilities": capabilities}
        for name, url, category, acquisition, capabilities in software])
    skilled = rng.random()
    services.create_records(None, school, COLLECTIONS["staff"], [
        {"full_name": name, "position": "teacher", "training_account": rng.random() < skilled + 0.3,
         "uses_teaching_software": rng.random() < skilled, "builds_digital_materials": rng.random() < skilled / 2}
        for name in rng.sample(TEACHERS, min(len(TEACHERS), school.teachers))])
