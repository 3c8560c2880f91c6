"""The receiver of examples/webhooks against switchboard: signed webhooks
verify with the reference library, a duplicate is dropped by its
webhook-id, and anything changed does not verify."""

import os
import sys
import threading
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "webhooks"))
from receiver import Receiver  # noqa: E402


@pytest.fixture
def signed(switchboard, tenant, receiver):
    """A new secret for the tenant's integration, and a receiver that
    verifies with it, where its webhooks now go."""
    secret = switchboard.operator(
        "integrations/update",
        {"IntegrationId": tenant["IntegrationId"], "WebhookSigning": "NewSecret"},
    )["WebhookSecret"]
    verifying = Receiver(secret)
    threading.Thread(target=verifying.serve_forever, daemon=True).start()
    switchboard.operator(
        "integrations/update",
        {
            "IntegrationId": tenant["IntegrationId"],
            "WebhookUrl": f"http://127.0.0.1:{verifying.server_address[1]}/webhooks",
        },
    )
    yield secret, verifying
    verifying.shutdown()
    # Back to the session's own receiver, unsigned.
    switchboard.operator(
        "integrations/update",
        {"IntegrationId": tenant["IntegrationId"], "WebhookSigning": "Off", "WebhookUrl": receiver.url},
    )


def wait_until(done, seconds=10):
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_signed_webhooks_verify_and_a_duplicate_is_handled_once(switchboard, connector, signed):
    secret, receiver = signed
    # Every delivery of this test goes out twice, with one webhook-id.
    switchboard.operator("faults/add", {"Operation": "webhook", "Webhook": "Duplicate"})
    thread = connector(
        "messageThreads/add", {"OriginalSender": "Jane Doe", "Subject": "Late check-in"}
    ).json()["MessageThreads"][0]
    sent = []
    for text in ["Arriving at 23:00.", "Is parking free?"]:
        answer = connector(
            "messages/add", {"Messages": [{"MessageThreadId": thread["Id"], "Text": text}]}
        )
        sent.append(answer.json()["Messages"][0]["Message"]["Id"])
        wait_until(lambda: sent[-1] in receiver.handled)
    wait_until(lambda: receiver.duplicates == 2)
    assert receiver.handled == sent, "each event handled once, in order"
    assert receiver.refused == 0


def test_a_changed_body_timestamp_or_secret_does_not_verify(switchboard, tenant, signed):
    secret, receiver = signed
    # What switchboard sends, caught by its own test request.
    caught = {}
    handle = receiver.handle

    def catch(headers, body):
        caught.update(headers=headers, body=body)
        return handle(headers, body)

    receiver.handle = catch
    tested = switchboard.operator("webhooks/test", {"IntegrationId": tenant["IntegrationId"]})
    assert tested["Attempt"]["Status"] == 204
    headers, body = caught["headers"], caught["body"]
    assert headers["user-agent"].startswith("switchboard/")
    Webhook(secret).verify(body, headers)

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"Events", b"Eventz"), headers)
    with pytest.raises(WebhookVerificationError):
        later = dict(headers, **{"webhook-timestamp": str(int(headers["webhook-timestamp"]) + 1)})
        Webhook(secret).verify(body, later)
    other = switchboard.operator(
        "integrations/update",
        {"IntegrationId": tenant["IntegrationId"], "WebhookSigning": "NewSecret"},
    )["WebhookSecret"]
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(body, headers)
