"""The README's conversation through a Python client generated from the
served /openapi.json by openapi-python-client: add a thread, a guest message,
a staff reply, read both back, resolve. Run by .ci/clients/run."""
import sys

from client import AuthenticatedClient, Client
from client.api.message_threads import message_threads_add
from client.api.messages import messages_add, messages_get_all
from client.api.staff import operator_message_threads_update, operator_messages_add
from client.models import (
    Limitation,
    MessageAddRequest,
    MessageGetAllRequest,
    MessageParameters,
    MessageThreadAddRequest,
    StaffMessageAddRequest,
    StaffMessageThreadUpdateRequest,
)

base, operator_token = sys.argv[1], sys.argv[2]
credentials = dict(
    client_token="E0D439EE522F44368DC78E1BFB03710C-D24FB11DBE31D4621C4817E028D9E1D",
    access_token="C66EF7B239D24632943D115EDE9CB810-EA00F8FD8294692C940F6B5A8F9453D",
    client="Generated Python client 1.0",
)
app = Client(base_url=base, raise_on_unexpected_status=True)
staff = AuthenticatedClient(base_url=base, token=operator_token, raise_on_unexpected_status=True)

added = message_threads_add.sync(
    client=app,
    body=MessageThreadAddRequest(original_sender="Penelope", subject="Late arrival", **credentials),
)
thread = added.message_threads[0]
assert not thread.is_resolved, thread

guest = messages_add.sync(
    client=app,
    body=MessageAddRequest(
        messages=[MessageParameters(message_thread_id=thread.id, text="I will arrive late tonight", identifier="m1")],
        **credentials,
    ),
)
assert guest.messages[0].identifier == "m1", guest

reply = operator_messages_add.sync(
    client=staff,
    body=StaffMessageAddRequest(
        messages=[MessageParameters(message_thread_id=thread.id, text="What time do you expect to arrive?")]
    ),
)
assert reply.messages[0].message.sender.discriminator.value == "Enterprise", reply

page = messages_get_all.sync(
    client=app,
    body=MessageGetAllRequest(message_thread_ids=[thread.id], limitation=Limitation(count=10), **credentials),
)
senders = [m.sender.discriminator.value for m in page.messages]
assert senders == ["Enterprise", "Application"], senders

resolved = operator_message_threads_update.sync(
    client=staff,
    body=StaffMessageThreadUpdateRequest(message_thread_id=thread.id, is_resolved=True),
)
assert resolved.message_threads[0].is_resolved, resolved
print("the conversation ran through the generated client")
