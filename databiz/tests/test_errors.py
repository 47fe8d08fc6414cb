"""Errors outside any one view: requests Django refuses to read, and the API's pages that are not JSON."""
import pytest

TOO_MANY = "&".join(f"p{i}=1" for i in range(1001))  # past DATA_UPLOAD_MAX_NUMBER_FIELDS (1000)
BAD_REQUEST = {"detail": "Too many query or form parameters.", "code": "bad_request"}

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
@pytest.mark.parametrize("path", ["/api/v2/jobs/active", "/api/v2/schema"])
def test_too_many_query_parameters_are_a_json_400(client, settings, debug, path):
    settings.DEBUG = debug

    response = client.get(f"{path}?{TOO_MANY}")

    assert (response.status_code, response["Content-Type"], response.json()) == (400, "application/json", BAD_REQUEST)


def test_too_many_query_parameters_outside_the_api_are_a_json_400(admin_client):
    response = admin_client.get(f"/admin/jobs/dataset/?{TOO_MANY}")

    assert (response.status_code, response["Content-Type"], response.json()) == (400, "application/json", BAD_REQUEST)


def test_the_docs_and_the_schema_answer_errors_in_json(client):
    answers = [
        client.options("/api/v2/docs"),
        client.post("/api/v2/docs"),
        client.post("/api/v2/schema"),
        client.get("/api/v2/schema", HTTP_ACCEPT="text/html"),
    ]

    assert [(a.status_code, a["Content-Type"], a.json()) for a in answers] == [
        (405, "application/json", {"detail": 'Method "OPTIONS" not allowed.'}),
        (405, "application/json", {"detail": 'Method "POST" not allowed.'}),
        (405, "application/json", {"detail": 'Method "POST" not allowed.'}),
        (406, "application/json", {"detail": "Could not satisfy the request Accept header."}),
    ]
