"""OpenAPI links: how the answer of one operation names the records another operation
takes, so that a client (or schemathesis's stateful phase) can chain them — create a
record, then read, change or delete it; open one of a list; act on what was read. Worked
out from the URL rules, so a collection added later gets its links without a change here:

- ``POST <collection>`` answering a record (``id``) links to every operation on
  ``<collection>/{<name>_id}`` and on its sub-paths without further variables
  (``/evidence/{evidence_id}/files``), the new ``id`` as ``<name>_id`` and the request's
  own path parameters passed on; a parameter that is not an id (``{criterion}``) takes
  the answer's field of the same name;
- ``GET <collection>`` answering a page (``items``) links the same way from its first item;
- ``GET`` of a record links to the actions below it (``/assessments/{year}`` →
  ``/assessments/{year}/submit``), with the same path parameters."""

from __future__ import annotations

import re

_VARIABLE = re.compile(r"\{([^}]+)\}")
_SUCCESS = ("201", "200")


def add_links(paths: dict, schemas: dict) -> None:
    """Add the links described above to the success responses of ``paths`` (the document's
    ``paths`` object, changed in place); ``schemas``: its ``components/schemas``."""
    for path, operations in paths.items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            status, fields = _answer_fields(operation, schemas)
            if status is None:
                continue
            links = {}
            if method == "post":
                links |= _record_links(paths, path, fields, "")
            elif method == "get" and "items" in fields:
                item_fields = _properties(_item_schema(fields["items"], schemas), schemas)
                links |= _record_links(paths, path, item_fields, "items/0/")
            if method == "get":
                links |= _action_links(paths, path)
            if links:
                operation["responses"][status].setdefault("links", {}).update(links)


def _record_links(paths: dict, collection: str, fields: dict, prefix: str) -> dict:
    """Links from an answer about a record of ``collection`` to the operations on it."""
    links = {}
    for target in paths:
        rest = target[len(collection):]
        match = re.fullmatch(r"/\{([^}]+)\}((?:/[^{}/]+)*)", rest) if target.startswith(collection) else None
        if not match:
            continue
        name = match.group(1)
        field = "id" if name.endswith("_id") else name
        if field not in fields:
            continue
        passed = {variable: f"$request.path.{variable}" for variable in _VARIABLE.findall(collection)}
        links |= _links_to(paths, target, {name: f"$response.body#/{prefix}{field}", **passed})
    return links


def _action_links(paths: dict, path: str) -> dict:
    """Links from reading the record at ``path`` (ending in a variable) to the operations
    below it without further variables (``/assessments/{year}`` → ``.../submit``)."""
    if not path.endswith("}"):
        return {}
    parameters = {variable: f"$request.path.{variable}" for variable in _VARIABLE.findall(path)}
    links = {}
    for target in paths:
        if re.fullmatch(re.escape(path) + r"(?:/[^{}/]+)+", target):
            links |= _links_to(paths, target, parameters)
    return links


def _links_to(paths: dict, target: str, parameters: dict) -> dict:
    """One link per operation of ``target``, named after its method and path."""
    pointer = target.replace("~", "~0").replace("/", "~1")
    tail = "".join(part.title() for part in re.split(r"[^A-Za-z]+", target.split("/api/v1/", 1)[-1]) if part)
    return {f"{method.title()}{tail}": {"operationRef": f"#/paths/{pointer}/{method}", "parameters": parameters}
            for method in paths[target] if method != "parameters"}


def _answer_fields(operation: dict, schemas: dict) -> tuple[str | None, dict]:
    """The success status of ``operation`` and the properties of its JSON answer
    (a record's, for an answer documented as one record or a list of them)."""
    for status in _SUCCESS:
        response = operation.get("responses", {}).get(status)
        schema = (response or {}).get("content", {}).get("application/json", {}).get("schema")
        if schema:
            return status, _properties(schema, schemas)
    return None, {}


def _properties(schema: dict, schemas: dict) -> dict:
    schema = _resolved(schema, schemas)
    if "oneOf" in schema:
        schema = _resolved(schema["oneOf"][0], schemas)
    return schema.get("properties", {})


def _item_schema(items_property: dict, schemas: dict) -> dict:
    return _resolved(items_property, schemas).get("items", {})


def _resolved(schema: dict, schemas: dict) -> dict:
    while "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
    return schema
