"""The Dockerfile passes hadolint and compose.yaml the Compose specification's JSON schema; both lint steps can
fail. (No Docker daemon here: the image is not built in CI; docs/operations.md gives the command.)"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
HADOLINT = Path(sys.executable).with_name("hadolint")


def load_validator():
    spec = importlib.util.spec_from_file_location("validate_compose", REPO / ".ci" / "validate-compose.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hadolint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(HADOLINT), "--no-color", str(path)], capture_output=True, text=True, timeout=120,
                          check=False)


def test_the_dockerfile_passes_hadolint():
    result = hadolint(REPO / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_a_careless_dockerfile(tmp_path):
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM python:latest\nRUN pip install flask\nCMD crmbridge serve\n")
    result = hadolint(careless)
    assert result.returncode != 0 and "DL3007" in result.stdout


def test_the_image_is_multi_stage_non_root_with_a_healthcheck():
    lines = [line.strip() for line in (REPO / "Dockerfile").read_text().splitlines()]
    stages = [line for line in lines if line.startswith("FROM ")]
    assert stages[0].startswith("FROM node:") and stages[-1].startswith("FROM python:") and "slim" in stages[-1]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and not users[-1].startswith(("root", "0"))
    assert any(line.startswith("HEALTHCHECK ") for line in lines) and "/healthz" in (REPO / "Dockerfile").read_text()
    assert 'CMD ["crmbridge", "serve"]' in lines


def test_compose_yaml_is_valid_against_the_vendored_schema():
    assert load_validator().problems(REPO / "compose.yaml") == []


def test_the_schema_check_refuses_a_misspelt_compose_file(tmp_path):
    broken = tmp_path / "compose.yaml"
    broken.write_text("services:\n  db:\n    image: postgres:16\n  web:\n    image: crmbridge\n    portz: ['8000']\n"
                      "    depends_on:\n      db:\n        condition: when_ready\n")
    found = load_validator().problems(broken)
    assert any("portz" in problem for problem in found) and any("when_ready" in problem for problem in found)


def test_compose_runs_postgresql_the_web_app_and_the_worker_after_the_migration():
    services = yaml.safe_load((REPO / "compose.yaml").read_text())["services"]
    assert services["db"]["image"].startswith("postgres:")
    assert services["web"]["command"] == ["crmbridge", "serve"]
    assert services["worker"]["command"] == ["crmbridge", "worker"]
    assert services["migrate"]["command"] == ["crmbridge", "db", "upgrade"]
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert all(port.startswith("127.0.0.1:") for port in services["web"]["ports"])


def test_the_build_context_leaves_out_secrets_and_local_state():
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".env", ".venv", ".git", "node_modules/", "instance/"} <= ignored
