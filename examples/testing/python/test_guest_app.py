"""What a guest app's test suite checks against switchboard."""

import pytest
import requests

from conftest import START


def open_thread(connector, subject="Late check-in"):
    answer = connector("messageThreads/add", {"OriginalSender": "Jane Doe", "Subject": subject})
    assert answer.status_code == 200, answer.text
    return answer.json()["MessageThreads"][0]


def test_a_guest_message_reaches_the_receiver(connector, tenant, receiver):
    thread = open_thread(connector)
    answer = connector(
        "messages/add",
        {"Messages": [{"MessageThreadId": thread["Id"], "Text": "Arriving at 23:00."}]},
    )
    message = answer.json()["Messages"][0]["Message"]
    webhook = receiver.wait_for(message["Id"])
    assert webhook["body"]["EnterpriseId"] == tenant["EnterpriseId"]
    assert webhook["body"]["Events"] == [
        {"Discriminator": "MessageAdded", "Value": {"Id": message["Id"]}}
    ]


def test_the_clock_stands_still_until_moved(switchboard, connector):
    first = open_thread(connector, "Parking")
    assert first["CreatedUtc"] == START
    switchboard.operator("clock/advance", {"Seconds": 3600})
    second = open_thread(connector, "Breakfast")
    assert second["CreatedUtc"] == "2030-01-01T10:00:00Z"


def test_every_test_starts_from_nothing(connector):
    # The threads of the tests before are gone: reset removed them.
    answer = connector(
        "messageThreads/getAll",
        {
            "CreatedUtc": {"StartUtc": "2029-12-01T00:00:00Z", "EndUtc": "2030-01-31T00:00:00Z"},
            "Limitation": {"Count": 100},
        },
    )
    assert answer.json()["MessageThreads"] == []


def test_a_lost_answer_is_not_a_lost_write(switchboard, connector):
    # The write happens, but the app hears 500: it must not make it twice.
    switchboard.operator(
        "faults/add",
        {"Operation": "messageThreads/add", "Status": 500, "Times": 1, "Stage": "After"},
    )
    answer = connector("messageThreads/add", {"OriginalSender": "Jane Doe", "Subject": "Taxi"})
    assert answer.status_code == 500
    assert answer.json()["RequestId"] == answer.headers["Request-Id"]
    listed = connector(
        "messageThreads/getAll",
        {
            "CreatedUtc": {"StartUtc": "2029-12-31T00:00:00Z", "EndUtc": "2030-01-02T00:00:00Z"},
            "Limitation": {"Count": 10},
        },
    )
    assert [t["Subject"] for t in listed.json()["MessageThreads"]] == ["Taxi"]


def test_a_dropped_connection_and_a_busy_server(switchboard, connector):
    switchboard.operator(
        "faults/add", {"Operation": "messages/getAll", "Connection": "Reset", "Times": 1}
    )
    thread = open_thread(connector)
    read = {"MessageThreadIds": [thread["Id"]], "Limitation": {"Count": 10}}
    with pytest.raises(requests.ConnectionError):
        connector("messages/getAll", read)
    # Only requests that name this thread: a 503 that says when to come back.
    switchboard.operator(
        "faults/add",
        {
            "Operation": "*",
            "Status": 503,
            "RetryAfterSeconds": 2,
            "Times": 1,
            "Match": {"MessageThreadId": thread["Id"]},
        },
    )
    busy = connector("messages/getAll", read)
    assert (busy.status_code, busy.headers["Retry-After"]) == (503, "2")
    assert connector("messages/getAll", read).status_code == 200


def test_the_request_log_shows_what_the_app_sent(switchboard, connector):
    mark = switchboard.mark()
    connector("messageThreads/add", {"originalSender": "Jane Doe", "Subject": "Towels"})
    [logged] = switchboard.requests_since(mark)
    assert logged["Status"] == 400
    assert logged["Request"]["AccessToken"] == "***"
    # The typo the app made, and what it meant.
    assert logged["Warnings"] == [{"Property": "originalSender", "DidYouMean": "OriginalSender"}]
