"""pytest fixtures for testing a guest app against switchboard.

Start switchboard once per test session (or reuse one that runs already), make
a tenant of your own over HTTP, and give every test the same clean start: no
content, no faults, an empty request log, the clock at START.

    SWITCHBOARD_BIN    the switchboard binary (default: `switchboard` on PATH)
    SWITCHBOARD_URL    reuse this server instead of starting one; it must run
                       with `--clock manual` and SWITCHBOARD_OPERATOR_TOKEN
"""

import http.server
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import threading

import pytest
import requests

# Every test starts at this instant.
START = "2030-01-01T09:00:00Z"


class Switchboard:
    def __init__(self, base, operator_token):
        self.base = base
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {operator_token}"

    def operator(self, operation, body=None, status=200):
        """Calls an operator operation; returns its JSON answer."""
        answer = self.http.post(f"{self.base}/api/operator/v1/{operation}", json=body or {})
        assert answer.status_code == status, answer.text
        return answer.json()

    def mark(self):
        """The sequence number of the newest logged request (0 if none)."""
        page = self.operator("requests/getAll", {"Limitation": {"Count": 1}})
        return page["Requests"][0]["Sequence"] if page["Requests"] else 0

    def requests_since(self, mark):
        """The Connector API requests logged after `mark`, oldest first."""
        page = self.operator(
            "requests/getAll", {"AfterSequence": mark, "Limitation": {"Count": 1000}}
        )
        return list(reversed(page["Requests"]))


@pytest.fixture(scope="session")
def switchboard():
    if os.environ.get("SWITCHBOARD_URL"):
        server = Switchboard(
            os.environ["SWITCHBOARD_URL"].rstrip("/"),
            os.environ["SWITCHBOARD_OPERATOR_TOKEN"],
        )
        mode = server.operator("clock/get")["Mode"]
        assert mode == "Manual", "start that switchboard with --clock manual"
        yield server
        return
    binary = os.environ.get("SWITCHBOARD_BIN") or shutil.which("switchboard")
    assert binary, "set SWITCHBOARD_BIN to the switchboard binary"
    operator_token = secrets.token_hex(16)
    with tempfile.TemporaryDirectory() as folder:
        process = subprocess.Popen(
            [
                binary, "serve",
                "--listen", "127.0.0.1:0",
                "--database", f"sqlite://{folder}/switchboard.db",
                "--no-demo",
                "--clock", "manual", "--clock-start", START,
                # The test's webhook receiver listens on 127.0.0.1.
                "--allow-private-webhooks",
            ],
            # From the environment: a command line shows in `ps`.
            env={**os.environ, "SWITCHBOARD_OPERATOR_TOKEN": operator_token},
            stdout=subprocess.PIPE,
            stderr=open(os.path.join(folder, "switchboard.log"), "w"),
            text=True,
        )
        try:
            for line in process.stdout:
                if line.startswith("switchboard listening on "):
                    base = line.split()[-1]
                    break
            else:
                raise RuntimeError("switchboard stopped before it listened")
            yield Switchboard(base, operator_token)
        finally:
            process.terminate()
            process.wait(timeout=15)


class Receiver(http.server.ThreadingHTTPServer):
    """Where the integration's webhooks arrive."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.received = []
        self.arrived = threading.Condition()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/webhooks?secret=s3cret"

    def wait_for(self, message_id, timeout=10):
        """The webhook request that carried `message_id`'s event."""

        def found():
            for request in self.received:
                for event in request["body"]["Events"]:
                    if event["Value"]["Id"] == message_id:
                        return request
            return None

        with self.arrived:
            self.arrived.wait_for(found, timeout)
        request = found()
        assert request, f"no webhook for message {message_id}: {self.received}"
        return request


class ReceiverHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.arrived:
            self.server.received.append({"headers": dict(self.headers), "body": body})
            self.server.arrived.notify_all()
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def receiver():
    server = Receiver()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.fixture(scope="session")
def tenant(switchboard, receiver):
    """A hotel, the app's integration (webhooks to the receiver), a token."""
    hotel = switchboard.operator("enterprises/add", {"Name": "Test Hotel"})["Enterprise"]
    added = switchboard.operator(
        "integrations/add", {"Name": "Guest app under test", "WebhookUrl": receiver.url}
    )
    token = switchboard.operator(
        "accessTokens/add",
        {"IntegrationId": added["Integration"]["Id"], "EnterpriseIds": [hotel["Id"]]},
    )
    return {
        "EnterpriseId": hotel["Id"],
        "IntegrationId": added["Integration"]["Id"],
        "ClientToken": added["ClientToken"],
        "AccessToken": token["AccessToken"],
    }


@pytest.fixture(autouse=True)
def clean_start(switchboard, receiver):
    """Every test: no threads, faults or logged requests; the clock at START."""
    switchboard.operator("reset", {"Faults": True, "RequestLog": True})
    switchboard.operator("clock/set", {"NowUtc": START})
    with receiver.arrived:
        receiver.received.clear()


@pytest.fixture
def connector(switchboard, tenant):
    """Calls the Connector API as the app does; returns the HTTP response."""

    def call(operation, body, **options):
        credentials = {
            "ClientToken": tenant["ClientToken"],
            "AccessToken": tenant["AccessToken"],
            "Client": "Guest app tests",
        }
        return requests.post(
            f"{switchboard.base}/api/connector/v1/{operation}",
            json={**credentials, **body},
            **options,
        )

    return call
