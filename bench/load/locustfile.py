"""The simulated users of bench/load_bench.py: the people of the demo school and its
district doing what journeys 1-8 of product.md do, through the pages and the API.
Weights follow a working day: staff keep the inventory and evidence, the reviewer and
the principal read the scorecard and the assessment, the district compares schools.
``LOAD_THINK`` ("low,high", seconds) is how long a user waits between two requests.

Every user signs in first (argon2, deliberately slow), all within the first seconds: that
rush is measured on its own (written to ``LOAD_RUSH_FILE`` as JSON) and the figures start
again once the last user is in, for ``LOAD_SECONDS`` of everyone at work."""

from __future__ import annotations

import json
import os
import re
import time
import uuid

import gevent
from locust import HttpUser, between, events, task

PASSWORD = os.environ.get("LOAD_PASSWORD", "ChuVanAn@2023")
SCHOOL = os.environ["LOAD_SCHOOL_ID"]
YEAR = os.environ["LOAD_YEAR"]
DISTRICT = os.environ["LOAD_DISTRICT_ID"]
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SIGN_IN = "/login (sign in)"
rush = {"started": 0.0, "signed_in": 0}


@events.test_start.add_listener
def _rush_starts(**_):
    rush["started"] = time.monotonic()


def _everyone_is_in(environment) -> None:
    """Keep the rush's figures, start the figures again, and stop LOAD_SECONDS later."""
    stats, signed = environment.stats, environment.stats.get(SIGN_IN, "POST")
    with open(os.environ["LOAD_RUSH_FILE"], "w", encoding="utf-8") as out:
        json.dump({"seconds": time.monotonic() - rush["started"], "sign_ins": signed.num_requests,
                   "sign_in_failures": signed.num_failures, "sign_in_p50": signed.get_response_time_percentile(0.5),
                   "sign_in_p95": signed.get_response_time_percentile(0.95),
                   "requests": stats.total.num_requests, "failures": stats.total.num_failures,
                   "p95": stats.total.get_response_time_percentile(0.95)}, out)
    stats.reset_all()
    gevent.spawn_later(float(os.environ["LOAD_SECONDS"]), environment.runner.quit)


class Person(HttpUser):
    abstract = True
    wait_time = between(*(float(part) for part in os.environ.get("LOAD_THINK", "3,10").split(",")))
    email = ""

    def on_start(self):
        page = self.client.get("/login", name="/login").text
        token = CSRF.search(page).group(1)
        self.client.post("/login", data={"email": self.email, "password": PASSWORD, "csrf_token": token},
                         name=SIGN_IN)
        rush["signed_in"] += 1
        if rush["signed_in"] == self.environment.runner.target_user_count:
            _everyone_is_in(self.environment)

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
