import json
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db

SCHEMA = "/api/v2/schema?format=json"
# The schema the JS client's types are generated from (clients/js: openapi-typescript), committed beside them.
CLIENT_SCHEMA = Path(settings.BASE_DIR) / "clients" / "js" / "openapi.json"


def resolve(schema, node):
    """Follow `$ref` and single-item `allOf` wrappers to the schema they point at."""
    if "allOf" in node and len(node["allOf"]) == 1:
        node = node["allOf"][0]
    if "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_schema_is_valid_openapi_and_describes_background_job_as_the_frontend_types_it(client):
    response = client.get(SCHEMA)
    schema = response.json()
    job = schema["components"]["schemas"]["BackgroundJob"]["properties"]

    validate_schema(schema)
    assert response.status_code == 200
    assert resolve(schema, job["type"])["enum"] == ["import", "export", "validation", "processing"]
    assert resolve(schema, job["status"])["enum"] == ["running", "completed", "failed"]
    assert (job["progress"]["type"], job["progress"]["minimum"], job["progress"]["maximum"]) == ("integer", 0, 100)
    assert set(job) == {"id", "type", "status", "progress", "filename", "started_at", "finished_at", "error",
                        "remaining_seconds"}
    assert (job["remaining_seconds"]["type"], job["remaining_seconds"]["minimum"]) == ("integer", 0)


def test_the_js_clients_schema_is_the_services_schema(client):
    """The frontend's types are made from clients/js/openapi.json: after a change of the API, `make client-types`."""
    assert json.loads(CLIENT_SCHEMA.read_text()) == client.get(SCHEMA).json()


def test_schema_describes_the_errors_and_the_bearer_scheme(client):
    schema = client.get(SCHEMA).json()
    operation = schema["paths"]["/api/v2/jobs/active"]["get"]

    assert set(operation["responses"]) == {"200", "304", "400", "401", "429", "503"}
    assert set(operation["responses"]["200"]["headers"]) == {"ETag", "X-Jobs-Running", "X-Jobs-Truncated",
                                                             "X-Poll-Interval"}
    assert {"bearerAuth": []} in operation["security"]
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert [parameter["name"] for parameter in operation["parameters"]] == ["If-None-Match", "status", "type"]
    assert "/api/v2/jobs/active/" not in schema["paths"]


def test_schema_describes_the_stream_with_the_lists_filters(client):
    paths = client.get(SCHEMA).json()["paths"]
    stream, listed = paths["/api/v2/jobs/stream"]["get"], paths["/api/v2/jobs/active"]["get"]

    assert stream["parameters"] == [*listed["parameters"][1:], {
        "in": "header", "name": "Last-Event-ID", "schema": {"type": "string"},
        "description": "The id (ETag) of the last event received, when reconnecting.",
    }]
    assert (set(stream["responses"]), stream["responses"]["400"]) == (
        {"200", "400", "401", "429", "503"}, listed["responses"]["400"]
    )


def test_swagger_ui_loads_its_assets_from_this_service(client):
    page = client.get("/api/v2/docs").content.decode()

    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "//cdn" not in page and "unpkg" not in page


@pytest.mark.parametrize(
    ("staff_only", "who", "expected"),
    [(False, None, 200), (True, None, 401), (True, "alice", 403), (True, "root", 200)],
)
def test_schema_is_public_unless_restricted_to_staff(client, settings, staff_only, who, expected):
    settings.OPENAPI_STAFF_ONLY = staff_only
    get_user_model().objects.create(username="alice")
    get_user_model().objects.create(username="root", is_staff=True)
    if who:
        client.force_login(get_user_model().objects.get(username=who))

    assert client.get(SCHEMA).status_code == client.get("/api/v2/docs").status_code == expected
