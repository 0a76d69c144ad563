"""The simulated users of bench/load_bench.py: the people of the demo school and its
district doing what journeys 1-8 of product.md do, through the pages and the API.
Weights follow a working day: staff keep the inventory and evidence, the reviewer and
the principal read the scorecard and the assessment, the district compares schools.
``LOAD_THINK`` ("low,high", seconds) is how long a user waits between two requests."""

from __future__ import annotations

import os
import re
import uuid

from locust import HttpUser, between, task

PASSWORD = os.environ.get("LOAD_PASSWORD", "ChuVanAn@2023")
SCHOOL = os.environ["LOAD_SCHOOL_ID"]
YEAR = os.environ["LOAD_YEAR"]
DISTRICT = os.environ["LOAD_DISTRICT_ID"]
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Person(HttpUser):
    abstract = True
    wait_time = between(*(float(part) for part in os.environ.get("LOAD_THINK", "3,10").split(",")))
    email = ""

    def on_start(self):
        page = self.client.get("/login", name="/login").text
        token = CSRF.search(page).group(1)
        self.client.post("/login", data={"email": self.email, "password": PASSWORD, "csrf_token": token},
                         name="/login (sign in)")

    def scorecard(self):
        self.client.get(f"/schools/{SCHOOL}/assessments/{YEAR}", name="scorecard /schools/<id>/assessments/<year>")


class Staff(Person):
    weight = 5
    email = "giaovien@thcva.edu.vn"

    @task(3)
    def home(self):
        self.client.get("/", name="dashboard /")

    @task(3)
    def equipment(self):
        self.client.get(f"/schools/{SCHOOL}/equipment", name="/schools/<id>/equipment")

    @task(2)
    def search_equipment(self):
        self.client.get(f"/schools/{SCHOOL}/equipment?q=may+chieu", name="/schools/<id>/equipment?q=")

    @task(2)
    def evidence(self):
        self.client.get(f"/schools/{SCHOOL}/evidence", name="/schools/<id>/evidence")

    @task(1)
    def add_room(self):
        self.client.post(f"/api/v1/schools/{SCHOOL}/rooms", name="POST /api/v1/schools/<id>/rooms",
                         json={"name": f"Phòng {uuid.uuid4().hex[:8]}", "kind": "classroom", "internet": True},
                         headers={"Authorization": f"Bearer {os.environ['LOAD_STAFF_TOKEN']}"})

    @task(2)
    def score(self):
        self.scorecard()


class Principal(Person):
    weight = 2
    email = "hieutruong@thcva.edu.vn"

    @task(2)
    def home(self):
        self.client.get("/", name="dashboard /")

    @task(3)
    def score(self):
        self.scorecard()

    @task(1)
    def planner(self):
        self.client.get(f"/schools/{SCHOOL}/planner", name="/schools/<id>/planner")

    @task(1)
    def api_score(self):
        self.client.get(f"/api/v1/schools/{SCHOOL}/score", name="GET /api/v1/schools/<id>/score",
                        headers={"Authorization": f"Bearer {os.environ['LOAD_PRINCIPAL_TOKEN']}"})


class Reviewer(Person):
    weight = 2
    email = "kiemtra@thcva.edu.vn"

    @task(2)
    def queue(self):
        self.client.get(f"/schools/{SCHOOL}/review-queue", name="/schools/<id>/review-queue")

    @task(2)
    def score(self):
        self.scorecard()


class DistrictOfficer(Person):
    weight = 1
    email = "phonggd@daksong.edu.vn"

    @task(3)
    def district(self):
        self.client.get(f"/districts/{DISTRICT}", name="/districts/<id>")

    @task(1)
    def score(self):
        self.scorecard()
