"""A webhook receiver for tests, served on 127.0.0.1 in a thread: it answers as scripted (fail, hang past the
sender's timeout, acknowledge), checks every signature, and keeps what a real receiver keeps: the event ids it
acknowledged, so a repeat after an acknowledgement is counted."""

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from crmbridge.domain import webhook_signing


class _Quiet(WSGIRequestHandler):
    def log(self, *args, **kwargs):
        pass


@dataclass
class Receiver:
    secret: str = ""
    script: list[str] = field(default_factory=list)  # "fail", "hang" or "ok", one per request; then "ok"
    hang_seconds: float = 1.5
    received: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    after_ack: Counter = field(default_factory=Counter)
    bad_signatures: int = 0
    bodies: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ, start_response):
        request = Request(environ)
        body = request.get_data()
        event_id = request.headers.get("Crmbridge-Event-Id", "")
        try:
            webhook_signing.verify(self.secret, request.headers.get(webhook_signing.HEADER), body)
            parsed = json.loads(body)
            assert parsed["id"] == event_id
        except (webhook_signing.SignatureError, ValueError, KeyError, AssertionError):
            with self.lock:
                self.bad_signatures += 1
            return Response("bad signature", status=400)(environ, start_response)
        with self.lock:
            self.received.append(event_id)
            if event_id in self.acknowledged:
                self.after_ack[event_id] += 1
            step = self.script.pop(0) if self.script else "ok"
        if step == "fail":
            return Response("down", status=503)(environ, start_response)
        if step == "hang":
            time.sleep(self.hang_seconds)  # the sender gave up already: this answer never counts
            return Response("too late", status=500)(environ, start_response)
        with self.lock:
            if event_id not in self.acknowledged:
                self.acknowledged.append(event_id)
                self.bodies[event_id] = parsed
        return Response("", status=204)(environ, start_response)


def serve(receiver: Receiver):
    """Serve ``receiver``; returns (url, stop)."""
    server = make_server("127.0.0.1", 0, receiver, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def stop():
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"http://127.0.0.1:{server.server_port}/hooks/crmbridge", stop
