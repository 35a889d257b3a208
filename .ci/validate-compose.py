"""Validate compose files against the Compose specification's JSON schema vendored in .ci/compose-spec/.

    python .ci/validate-compose.py [compose.yaml ...]

Exit code 0 when every file is valid; otherwise each problem is printed with its path in the file. There is no
Docker daemon (nor docker compose) on our machines, so this is what CI checks of compose.yaml.
"""

import json
import sys
from pathlib import Path

import jsonschema
import yaml

HERE = Path(__file__).resolve().parent
SCHEMA = HERE / "compose-spec" / "compose-spec.json"


def problems(path: Path) -> list[str]:
    document = yaml.safe_load(path.read_text())
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    return [f"{path}: {'.'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
            for error in sorted(validator.iter_errors(document), key=lambda error: list(error.absolute_path))]


def main(argv: list[str]) -> int:
    paths = [Path(arg) for arg in argv] or [HERE.parent / "compose.yaml"]
    found = [problem for path in paths for problem in problems(path)]
    for problem in found:
        print(problem, file=sys.stderr)
    if not found:
        print(f"valid against the Compose specification: {', '.join(map(str, paths))}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
