"""``crmbridge worker`` as a separate process for the tests: the real worker loop against the test database and
the fake Graph, with a static token in place of Entra (which the tests do not have).

    python worker_process.py DATABASE_URL GRAPH_BASE_URL LEASE_SECONDS
"""

import faulthandler
import sys
from datetime import timedelta

from crmbridge import create_app
from crmbridge.graph import setup as graph_setup
from crmbridge.graph.client import GraphClient
from crmbridge.graph.commands import run_worker


def main() -> None:
    faulthandler.enable()  # SIGABRT (stop_all on a worker that does not stop) prints every thread's stack
    database_url, base_url, lease = sys.argv[1:4]
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "ORG_DOMAINS": ["contoso.com"],
                      "SECRET_KEY": "test-secret-key", "NOTES_COALESCE_SECONDS": 0})
    graph = GraphClient(lambda mailbox: "static-token", base_url=base_url, backoff_base=0.05, backoff_cap=0.2)
    graph_setup.install(app, graph)
    with app.app_context():
        run_worker(app, graph, poll_seconds=0.2, lease=timedelta(seconds=float(lease)))


if __name__ == "__main__":
    main()
