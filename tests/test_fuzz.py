"""Nothing a person or a client sends makes the portal fail with a server error.

Hypothesis sends awkward input — Unicode in every form (decomposed Vietnamese, ², full-width
digits, zero-width spaces, control characters), strings of 10,000+ characters, huge and
negative numbers, choices that are not offered, empty values, wrong types, odd files — to:

- every HTML form, found by reading every page as a signed-in user (so a form added later
  is fuzzed without a change here), posted with a valid CSRF token by a role allowed there;
- every POST route no page offers a form for, with the field names forms use;
- every page and export, with the query parameters the filter forms use;
- every API route in the URL map, with a token, JSON bodies and query parameters named
  after the fields the OpenAPI document gives it.

Runs are derandomized: a failure shows its request and reproduces on the next run."""

from __future__ import annotations

import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from flask_babel import gettext as _
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from wtforms import IntegerField
from wtforms.validators import NumberRange

from app import demo
from app.accounts import services as accounts
from app.accounts.models import Role, User
from app.accounts.policy import PERMISSIONS, PUBLIC, SIGNED_IN, url_parameters
from app.extensions import db
from app.forms import PortalForm
from app.schools.models import School
from tests.builders import bearer

EXAMPLES = 3  # random ones per form, page or API route, after the SWEEP
# Sent first to each, in every field at once: the inputs that most often break a parser.
SWEEP = ["²", "x" * 10_001, "9" * 40]
# No shrinking: a failure is reported as generated (the request it shows reproduces it),
# without minutes of replays of a slow request.
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))

AWKWARD_TEXT = [
    "", " ", "0", "-1", "²", "LT-²", "１２３", "٣", "1\u200b2", "\u200b", "\ufeffabc", "a\x00b", "\x07\x1b[31m",
    "\r\n\t", unicodedata.normalize("NFD", "Trường Tiểu học Chu Văn An"), "ＴＨＣＶＡ", "x" * 10_001,
    "Ω" * 10_050, "9" * 40, "-99999999999999999999", "1e309", "NaN", "-0", "2023-02-30", "0000-00-00",
    "2022-2023", "9999-10000", "null", "true", "[]", "{}", "<script>alert(1)</script>", "'; DROP TABLE x;--",
    "%s %(name)s {0}", "../../etc/passwd", "=1+1", "not-a-choice", "@r1",
]
NUMBERS = st.one_of(st.integers(), st.integers(min_value=-(10**30), max_value=10**30),
                    st.sampled_from([0, -1, 2**31, 2**63, -(2**63) - 1, 10**400]),
                    st.floats(allow_nan=False, allow_infinity=False))


def awkward_text(choices: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    strategies = [st.sampled_from(AWKWARD_TEXT), st.text(max_size=30), NUMBERS.map(str)]
    if choices:
        strategies.insert(0, st.sampled_from(choices))
    return st.one_of(strategies)


# --- forms, as a browser reads them ------------------------------------------------------

@dataclass
class Field:
    kind: str  # input type, "select" or "textarea"
    choices: tuple[str, ...] = ()


@dataclass
class Form:
    method: str
    action: str  # a path
    page: str  # where it was found
    fields: dict[str, Field] = field(default_factory=dict)


class FormReader(HTMLParser):
    """The forms of a page with their named fields (also those tied by ``form="id"``)."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[Form] = []
        self.by_id: dict[str, Form] = {}
        self.current: Form | None = None
        self.select: tuple[Form, str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            action = urlsplit(attrs.get("action") or self.page).path or self.page
            self.current = Form((attrs.get("method") or "get").lower(), action, self.page)
            self.forms.append(self.current)
            if attrs.get("id"):
                self.by_id[attrs["id"]] = self.current
            return
        if tag == "option" and self.select is not None:
            form, name = self.select
            form.fields[name].choices += (attrs.get("value") or "",)
            return
        if tag not in ("input", "select", "textarea") or not attrs.get("name"):
            return
        form = self.by_id.get(attrs.get("form") or "", self.current)
        if form is None:
            return
        kind = tag if tag != "input" else (attrs.get("type") or "text").lower()
        known = form.fields.setdefault(attrs["name"], Field(kind))
        if kind in ("checkbox", "radio", "hidden", "submit") and attrs.get("value") is not None:
            known.choices += (attrs["value"],)
        if tag == "select":
            self.select = (form, attrs["name"])

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None


# --- the portal with data and a signed-in browser per role --------------------------------

class Browsers:
    """A signed-in test client per role (signed in again after a request signed it out),
    and one anonymous client from another address, so its failed sign-ins never throttle
    the others."""

    def __init__(self, app):
        self.app = app
        self.emails = {Role(role): email for role, email, _password in demo.logins()}
        self.clients: dict[Role | None, tuple] = {}

    def client(self, role: Role | None):
        if role not in self.clients:
            http = self.app.test_client()
            if role is None:
                http.environ_base["REMOTE_ADDR"] = "192.0.2.1"
            else:
                signed_in = http.post("/login", data={"email": self.emails[role], "password": demo.DEMO_PASSWORD,
                                                      "csrf_token": csrf_token(http)})
                assert signed_in.status_code == 302, f"{role} could not sign in"
            self.clients[role] = (http, csrf_token(http))
        return self.clients[role]

    def send(self, role: Role | None, method: str, path: str, **kwargs):
        http, token = self.client(role)
        if method == "post":
            kwargs["data"] = {"csrf_token": token, **kwargs.get("data", {})}
        response = http.open(path, method=method.upper(), follow_redirects=True, **kwargs)
        if role is not None and (response.request.path == "/login" or path == "/logout"):
            del self.clients[role]  # signed out: sign in again for the next request
        return response


def csrf_token(http) -> str:
    page = http.get("/login", follow_redirects=True).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


@dataclass
class Site:
    app: object
    browsers: Browsers
    known: dict[str, int]  # URL parameter -> an id on the demo school

    def path(self, rule) -> str:
        return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: str(self.known.get(m.group(1), 1)), rule.rule)

    def roles(self, endpoint: str) -> list[Role | None]:
        """Who may use ``endpoint``: anonymous for public ones, else each allowed role."""
        action = getattr(self.app.view_functions[endpoint], "required_action", None)
        if action == PUBLIC:
            return [None]
        return sorted(PERMISSIONS[SIGNED_IN if action is None else action], key=lambda role: role.value)

    def endpoint(self, method: str, path: str) -> str | None:
        adapter = self.app.url_map.bind("portal.test")
        try:
            return adapter.match(path, method=method.upper())[0]
        except Exception:  # noqa: BLE001 - a form pointing nowhere is not ours to fuzz
            return None


@pytest.fixture()
def site(app, build):
    """The demo school and its accounts; a spare user and token for the routes that name
    one (so fuzzing them never locks out the accounts that sign in)."""
    with app.test_request_context():
        demo.load()
        school = db.session.scalar(select(School).where(School.code == "THCVA"))
        admin = db.session.scalar(select(User).where(User.role == Role.ADMIN, User.email == "admin@demo.edu.vn"))
        known = {"school_id": school.id, "district_id": school.district_id,
                 "token_id": accounts.issue_token(admin, "fuzz")[0].id}
        for param, model in url_parameters().items():
            school_id = getattr(model, "school_id", None)
            if param not in known and school_id is not None:
                known[param] = db.session.scalar(select(model.id).where(school_id == school.id).limit(1)) or 1
    known["user_id"] = build.user(Role.STAFF, school=school).id
    return Site(app, Browsers(app), known)


def html_rules(app, method: str):
    return [rule for rule in app.url_map.iter_rules()
            if method in rule.methods and not rule.rule.startswith(("/api/", "/static/"))]


def discover_forms(site: Site, roles=(Role.ADMIN, Role.PRINCIPAL)) -> list[Form]:
    """Every distinct form of every page (one per endpoint and field set), read as each of
    ``roles`` (an admin and a principal see the most forms)."""
    forms: dict[tuple, Form] = {}
    for role in roles:
        for rule in html_rules(site.app, "GET"):
            if role not in site.roles(rule.endpoint):
                continue
            page = site.path(rule)
            response = site.browsers.send(role, "get", page)
            if not response.mimetype == "text/html":
                continue
            reader = FormReader(page)
            reader.feed(response.get_data(as_text=True))
            for form in reader.forms:
                endpoint = site.endpoint(form.method, form.action)
                if endpoint is not None:
                    forms.setdefault((form.method, endpoint, tuple(sorted(form.fields))), form)
    return list(forms.values())


# --- what is sent -------------------------------------------------------------------------

OMIT = object()


def field_value(spec: Field):
    if spec.kind == "file":
        content = st.one_of(st.binary(max_size=300), st.lists(awkward_text(), max_size=8).map(
            lambda cells: (",".join(cells) + "\n" + ";".join(reversed(cells))).encode("utf-8", "surrogatepass")))
        name = st.sampled_from(["data.csv", "data.xlsx", "Thiết bị.xlsx", "x.exe", "", "a" * 300 + ".csv"])
        return st.tuples(content, name).map(lambda pair: (io.BytesIO(pair[0]), pair[1]))
    single = awkward_text(spec.choices)
    if spec.kind in ("number", "range"):
        single = st.one_of(NUMBERS.map(str), single)
    return st.one_of(single, st.lists(single, min_size=2, max_size=3))


def form_data(fields: dict[str, Field]):
    """Some of the fields (each awkward, offered or repeated), and now and then one no form has."""
    values = st.fixed_dictionaries({name: st.one_of(st.just(OMIT), field_value(spec))
                                    for name, spec in fields.items() if name != "csrf_token"})
    extra = st.dictionaries(st.sampled_from(["id", "ids", "next", "back", "year", "extra"]), awkward_text(), max_size=2)
    return st.tuples(values, extra).map(
        lambda pair: {**pair[1], **{name: value for name, value in pair[0].items() if value is not OMIT}})


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), NUMBERS, awkward_text()),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(awkward_text(), inner, max_size=3)),
    max_leaves=8)


def json_body(names: tuple[str, ...]):
    """A JSON document: an object with some of ``names`` (awkward values), a list of such
    objects, another JSON value, or bytes that are not JSON at all."""
    obj = st.dictionaries(st.sampled_from(names) if names else awkward_text(), JSON_VALUES, max_size=len(names) or 3)
    return st.one_of(
        obj.map(json.dumps), st.lists(obj, max_size=3).map(json.dumps), JSON_VALUES.map(json.dumps),
        st.just('{"name": "\\ud800"}'),
        st.sampled_from([b"", b"{", b'{"a": NaN}', b"\xff\xfe", b'"' + b"x" * 20_000 + b'"', b"[" * 5000]))


def assert_no_server_error(send, role, method, path, sent):
    """Send the request; fail with the request when it raises or answers 5xx."""
    request = f"{method.upper()} {path} as {role}: {str(sent)[:500]}"
    try:
        response = send()
    except Exception as error:  # the testing app propagates what would be a 500
        raise AssertionError(f"{error!r} for {request}") from error
    assert response.status_code < 500, f"{response.status_code} for {request}"


# --- the tests ----------------------------------------------------------------------------

@pytest.mark.long
def test_every_form_survives_awkward_input(site, subtests):
    forms = discover_forms(site)
    offered = {site.endpoint(form.method, form.action) for form in forms if form.method == "post"}
    posts = [Form("post", site.path(rule), "", {}) for rule in html_rules(site.app, "POST")
             if rule.endpoint not in offered]
    names = {name: Field("text") for form in forms if form.method == "post" for name in form.fields}
    assert {"post", "get"} <= {form.method for form in forms}, "no forms found: the discovery is broken"

    for form in forms + posts:
        with subtests.test(f"{form.method.upper()} {form.action} (form on {form.page or 'no page'})"):
            fuzz_form(site, form, form.fields or names)()


def fuzz_form(site: Site, form: Form, fields: dict[str, Field]):
    """A Hypothesis test sending ``form`` with awkward ``fields`` as each role allowed."""
    roles = site.roles(site.endpoint(form.method, form.action))

    @given(role=st.sampled_from(roles), data=form_data(fields))
    @FUZZ
    def survives(role, data):
        sent = {"data": data} if form.method == "post" else {"query_string": data}
        assert_no_server_error(lambda: site.browsers.send(role, form.method, form.action, **sent),
                               role, form.method, form.action, data)

    def sweep_then_fuzz():
        for value in SWEEP:
            survives.hypothesis.inner_test(roles[-1], dict.fromkeys(set(fields) - {"csrf_token"}, value))
        survives()
    return sweep_then_fuzz


@pytest.mark.long
def test_every_page_survives_awkward_query_parameters(site, subtests):
    names = sorted({name for form in discover_forms(site, [Role.ADMIN]) if form.method == "get" for name in form.fields}
                   | {"page", "per_page", "sort", "order", "year", "q"})
    query = st.dictionaries(st.sampled_from(names), st.one_of(awkward_text(), st.lists(awkward_text(), max_size=3)),
                            max_size=4)
    for rule in html_rules(site.app, "GET"):
        with subtests.test(f"GET {site.path(rule)}"):
            fuzz_page(site, rule, names, query)()


def fuzz_page(site: Site, rule, names: list[str], query):
    """A Hypothesis test reading the page of ``rule`` with awkward ``query`` parameters."""
    path = site.path(rule)

    roles = site.roles(rule.endpoint)

    @given(role=st.sampled_from(roles), params=query)
    @FUZZ
    def survives(role, params):
        assert_no_server_error(lambda: site.browsers.send(role, "get", path, query_string=params),
                               role, "get", path, params)

    def sweep_then_fuzz():
        for value in SWEEP:
            survives.hypothesis.inner_test(roles[-1], dict.fromkeys(names, value))
        survives()
    return sweep_then_fuzz


def document_fields(document: dict, path: str, method: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Names of the body fields and query parameters the OpenAPI document gives an operation."""
    operation = document["paths"].get(path, {}).get(method, {})

    def properties(schema: dict) -> list[str]:
        if "$ref" in schema:
            schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        nested = schema.get("oneOf", []) + ([schema["items"]] if "items" in schema else [])
        return list(schema.get("properties", {})) + [name for part in nested for name in properties(part)]

    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    query = [parameter["name"] for parameter in operation.get("parameters", []) if parameter["in"] == "query"]
    return tuple(dict.fromkeys(properties(body))), tuple(query)


@pytest.mark.long
def test_every_api_route_survives_awkward_input(site, subtests):
    http = site.app.test_client()
    document = http.get("/api/v1/openapi.json").get_json()
    with site.app.test_request_context():
        users = {user.role: user for user in db.session.scalars(select(User).where(
            User.email.in_(site.browsers.emails.values())))}
    tokens: dict[Role, str] = {}

    def headers(role: Role) -> dict:
        """A live token for ``role`` (``DELETE /auth/token`` revokes the one it is sent with)."""
        with site.app.test_request_context():
            if role not in tokens or accounts.token_for(tokens[role]) is None:
                tokens[role] = accounts.issue_token(users[role], "fuzz")[1]
        return bearer(tokens[role])

    for rule in site.app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        documented = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            with subtests.test(f"{method} {site.path(rule)}"):
                fuzz_api(site, rule, method, document_fields(document, documented, method.lower()), headers)()


def fuzz_api(site: Site, rule, method: str, names: tuple[tuple[str, ...], tuple[str, ...]], headers):
    """A Hypothesis test calling ``method`` on the API ``rule`` with awkward JSON and query
    parameters (``names``: the documented body fields and query parameters), with a token
    of each role allowed."""
    path, (body_names, query_names) = site.path(rule), names
    roles = [role for role in site.roles(rule.endpoint) if role is not None] or list(Role)
    query = st.dictionaries(st.sampled_from(query_names + ("q", "page", "extra")), awkward_text(), max_size=3)
    http = site.app.test_client()

    @given(role=st.sampled_from(roles), body=json_body(body_names), params=query)
    @FUZZ
    def survives(role, body, params):
        assert_no_server_error(lambda: http.open(path, method=method, data=body, query_string=params, headers={
            **headers(role), "Content-Type": "application/json"}), role, method, path, (params, body))

    def sweep_then_fuzz():
        for value in SWEEP:
            survives.hypothesis.inner_test(roles[-1], json.dumps(dict.fromkeys(body_names, value)),
                                           dict.fromkeys(query_names, value))
        survives()
    return sweep_then_fuzz


def test_a_number_no_column_holds_is_refused_like_a_mistyped_one(app):
    """Found by the fuzzing: a 400-digit quantity made WTForms' NumberRange fail (it turns
    the number into a float), and 2**63 is more than SQLite or PostgreSQL hold."""
    class Count(PortalForm):
        quantity = IntegerField(validators=[NumberRange(min=1, max=200)])
        total = IntegerField()

    for number in ("1" + "0" * 400, str(2**63), str(-(2**63) - 1)):
        with app.test_request_context(method="POST", data={"quantity": number, "total": number}):
            form = Count(meta={"csrf": False})
            assert not form.validate()
            assert form.quantity.data is None and form.total.data is None
            assert form.total.errors == [_("The number is too large.")]
    with app.test_request_context(method="POST", data={"quantity": "200", "total": str(2**63 - 1)}):
        assert Count(meta={"csrf": False}).validate()
