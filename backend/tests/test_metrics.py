"""GET /metrics: Prometheus text for a scraper on the loopback or with the metrics token; never for a browser."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from conftest import activity_json
from prometheus_client.parser import text_string_to_metric_families

from crmbridge import create_app, db, metrics
from crmbridge.models import SyncJobRow, now

REMOTE = {"REMOTE_ADDR": "203.0.113.9"}


def samples(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    found = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_answers_a_scraper_on_the_loopback(client):
    found = samples(client.get("/metrics"))
    assert value(found, "crmbridge_outbox_jobs") == 0
    assert value(found, "crmbridge_outbox_oldest_job_age_seconds") == 0


def test_request_latency_is_counted_by_endpoint_not_by_path(client, anna):
    before = samples(client.get("/metrics"))
    for activity_id in (101, 102, 103):
        anna.get(f"/api/activities/{activity_id}")
    client.get("/healthz")

    found = samples(client.get("/metrics"))

    labels = {"endpoint": "activities.get_activity", "method": "GET"}
    count = "crmbridge_http_request_duration_seconds_count"
    assert value(found, count, **labels) - value(before, count, **labels) == 3
    assert value(found, "crmbridge_http_requests_total", status="404", **labels) \
        - value(before, "crmbridge_http_requests_total", status="404", **labels) == 3
    assert value(found, count, endpoint="health.healthz", method="GET") >= 1
    assert not any("/api/activities/10" in str(key) for key in found)


def test_the_outbox_backlog_and_the_age_of_its_oldest_job(app, client, anna):
    for _ in range(2):
        assert anna.post("/api/activities", json=activity_json()).status_code == 201
    with db.standalone_session(app) as session:
        pending = session.scalar(sa.select(sa.func.count()).select_from(SyncJobRow).where(SyncJobRow.done.is_(False)))
        assert pending >= 1  # every change to an activity adds an outbox job
        session.execute(sa.update(SyncJobRow).values(created_at=now() - timedelta(minutes=10)))
        session.commit()

    found = samples(client.get("/metrics"))

    assert value(found, "crmbridge_outbox_jobs") == pending
    assert 600 <= value(found, "crmbridge_outbox_oldest_job_age_seconds") < 700


def test_graph_answers_are_counted_by_status_including_throttling(client):
    before = samples(client.get("/metrics"))
    metrics.graph_answered("GET", 429)
    metrics.graph_answered("GET", 429)
    metrics.graph_answered("POST", 201)
    metrics.graph_answered("GET", None)

    found = samples(client.get("/metrics"))

    def grew(**labels):
        return value(found, "crmbridge_graph_requests_total", **labels) - value(
            before, "crmbridge_graph_requests_total", **labels)

    assert grew(method="GET", status="429") == 2
    assert grew(method="POST", status="201") == 1
    assert grew(method="GET", status="none") == 1


def test_scan_durations_and_guard_verdicts_are_exported(client):
    with metrics.timed_scan("incremental"):
        pass
    metrics.GUARD_VERDICTS.labels(verdict="blocked").inc()
    found = samples(client.get("/metrics"))
    assert value(found, "crmbridge_scan_duration_seconds_count", kind="incremental") >= 1
    assert value(found, "crmbridge_guard_verdicts_total", verdict="blocked") >= 1


@pytest.mark.parametrize("headers", [
    {"Origin": "https://crm.example.com"},  # the add-in's origin, cross-origin
    {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"},  # a fetch from the taskpane's own pages
    {"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate"},  # typed into a browser on the server itself
])
def test_a_browser_never_gets_metrics_even_on_the_loopback(client, headers):
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 404
    assert "crmbridge_" not in response.get_data(as_text=True)
    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_remote_client_without_the_token_gets_404(client):
    assert client.get("/metrics", environ_base=REMOTE).status_code == 404


@pytest.fixture
def token_app(database_url, migrated_sqlite):
    import shutil

    if database_url.startswith("sqlite:///"):
        shutil.copyfile(migrated_sqlite, database_url.removeprefix("sqlite:///"))
    else:
        from crmbridge import migrations

        migrations.upgrade(database_url)
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret-key",
                      "METRICS_TOKEN": "scrape-secret-0123456789"})
    yield app
    db.engine(app).dispose()


@pytest.mark.parametrize("authorization, status", [
    ("Bearer scrape-secret-0123456789", 200),
    ("Bearer scrape-secret-012345678", 404),
    ("Bearer ", 404),
    ("Basic c2NyYXBlOnNlY3JldA==", 404),
])
def test_a_remote_scraper_needs_the_metrics_token(token_app, authorization, status):
    response = token_app.test_client().get("/metrics", headers={"Authorization": authorization},
                                           environ_base=REMOTE)
    assert response.status_code == status


def test_the_metrics_token_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CRMBRIDGE_METRICS_TOKEN", " token-from-env-123 ")
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
                      "SECRET_KEY": "test-secret-key"})
    assert app.config["METRICS_TOKEN"] == "token-from-env-123"
