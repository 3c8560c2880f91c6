"""A webhook receiver that trusts only what switchboard signed, and handles
each delivery once.

    python receiver.py --port 8000 --secret whsec_...

switchboard delivers at least once: a delivery that timed out, or whose
answer was lost, is sent again with the same `webhook-id`. So a receiver
checks the signature (with the Standard Webhooks reference library), then
drops an id it has handled already, then does its work.
"""

import argparse
import http.server
import json
import threading

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class Receiver(http.server.ThreadingHTTPServer):
    def __init__(self, secret, port=0):
        super().__init__(("127.0.0.1", port), Handler)
        self.webhook = Webhook(secret)
        self.seen = set()  # webhook-ids handled (keep them in your database)
        self.lock = threading.Lock()
        self.handled = []  # the events handled, in order
        self.refused = 0
        self.duplicates = 0

    def handle(self, headers, body):
        """What to answer: 204 once handled (or handled before), 401 if the
        signature does not verify."""
        try:
            self.webhook.verify(body, headers)
        except WebhookVerificationError:
            with self.lock:
                self.refused += 1
            return 401
        with self.lock:
            if headers["webhook-id"] in self.seen:
                self.duplicates += 1
                return 204
            self.seen.add(headers["webhook-id"])
            for event in json.loads(body)["Events"]:
                self.handled.append(event["Value"]["Id"])
        return 204


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.send_response(self.server.handle(headers, body))
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--secret", required=True, help="whsec_... from integrations/update")
    args = parser.parse_args()
    Receiver(args.secret, args.port).serve_forever()
