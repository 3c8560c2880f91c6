#!/usr/bin/env bash
# Makes fidelity/vendor-examples.jsonl: the vendor's documented example
# requests (operations-messagethreads.md, operations-messages.md) and its
# messaging use case (use-cases-messaging.md: Penelope arrives late),
# recorded through `switchboard record` in front of a switchboard on a manual
# clock at the examples' times. The first thread and message then get the
# ids of the documented examples, and each exchange the time of its step.
#
#   cargo build && bash fidelity/make-vendor-examples.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=./target/debug/switchboard
work=$(mktemp -d)
trap 'kill $serve $rec 2>/dev/null || true; rm -rf "$work"' EXIT
$bin serve --listen 127.0.0.1:18601 --database "sqlite://$work/db" --clock manual \
  --clock-start 2022-03-08T12:06:50Z --operator-token tok > "$work/serve.out" 2>&1 &
serve=$!
sleep 1.5
$bin record --upstream http://127.0.0.1:18601 --listen 127.0.0.1:18602 --output "$work/rec.jsonl" > "$work/rec.out" 2>&1 &
rec=$!
sleep 1
C='"ClientToken": "E0D439EE522F44368DC78E1BFB03710C-D24FB11DBE31D4621C4817E028D9E1D", "AccessToken": "C66EF7B239D24632943D115EDE9CB810-EA00F8FD8294692C940F6B5A8F9453D", "Client": "Sample Client 1.0.0"'
P=http://127.0.0.1:18602
call() { curl -s "$P/api/connector/v1/$1" -H 'Content-Type: application/json' -d "{$C, $2}"; echo; }
staff() { curl -s "$P/api/operator/v1/$1" -H 'Content-Type: application/json' -H 'Authorization: Bearer tok' -d "$2"; echo; }
clock() { curl -s http://127.0.0.1:18601/api/operator/v1/clock/set -H 'Content-Type: application/json' -H 'Authorization: Bearer tok' -d "{\"NowUtc\": \"$1\"}" > /dev/null; }
id() { python3 -c "import json,sys; print(json.loads(sys.stdin.read())$1)"; }

example=$(call messageThreads/add '"OriginalSender": "John Doe", "Subject": "Example subject"' | id '["MessageThreads"][0]["Id"]')
clock 2022-03-09T13:19:46Z
call messages/add "\"Messages\": [{\"MessageThreadId\": \"$example\", \"Text\": \"Text of the message\", \"Identifier\": \"Message 1\"}]" > /dev/null
clock 2022-03-09T18:02:11Z
penelope=$(call messageThreads/add '"OriginalSender": "Penelope", "Subject": "Arriving late"' | id '["MessageThreads"][0]["Id"]')
call messages/add "\"Messages\": [{\"MessageThreadId\": \"$penelope\", \"Text\": \"Hi! I just wanted to let you know I will be arriving late tonight\"}]" > /dev/null
clock 2022-03-09T18:04:30Z
staff messages/add "{\"Messages\": [{\"MessageThreadId\": \"$penelope\", \"Text\": \"Hello Ms Penelope! Thank you for contacting us. What time do you expect to arrive?\"}]}" > /dev/null
clock 2022-03-09T18:05:02Z
call messages/getAll "\"MessageThreadIds\": [\"$penelope\"], \"Limitation\": {\"Count\": 10}" > /dev/null
clock 2022-03-09T18:06:40Z
call messages/add "\"Messages\": [{\"MessageThreadId\": \"$penelope\", \"Text\": \"Around 11pm. Please hold my room, thank you.\"}]" > /dev/null
clock 2022-03-09T18:08:15Z
staff messages/add "{\"Messages\": [{\"MessageThreadId\": \"$penelope\", \"Text\": \"Your room will be ready for you, travel safely and we look forward to welcoming you around 11pm.\"}]}" > /dev/null
clock 2022-03-09T18:09:00Z
# The documented getAll requests (without the example's Cursor, which names
# no thread of this conversation), then the same lists a page at a time.
call messageThreads/getAll '"EnterpriseIds": ["3fa85f64-5717-4562-b3fc-2c963f66afa6", "4d0201db-36f5-428b-8d11-4f0a65e960cc"], "CreatedUtc": {"StartUtc": "2022-03-03T00:00:00Z", "EndUtc": "2022-03-14T00:00:00Z"}, "Limitation": {"Count": 10}' > /dev/null
first=$(call messageThreads/getAll '"UpdatedUtc": {"StartUtc": "2022-03-03T00:00:00Z", "EndUtc": "2022-03-14T00:00:00Z"}, "Limitation": {"Count": 1}' | id '["Cursor"]')
call messageThreads/getAll "\"UpdatedUtc\": {\"StartUtc\": \"2022-03-03T00:00:00Z\", \"EndUtc\": \"2022-03-14T00:00:00Z\"}, \"Limitation\": {\"Count\": 1, \"Cursor\": \"$first\"}" > /dev/null
call messages/getAll "\"MessageThreadIds\": [\"$example\", \"$penelope\"], \"CreatedUtc\": {\"StartUtc\": \"2022-03-03T00:00:00Z\", \"EndUtc\": \"2022-03-14T00:00:00Z\"}, \"EnterpriseIds\": [\"3fa85f64-5717-4562-b3fc-2c963f66afa6\", \"4d0201db-36f5-428b-8d11-4f0a65e960cc\"], \"Limitation\": {\"Count\": 100}" > /dev/null
page=$(call messages/getAll "\"MessageThreadIds\": [\"$penelope\"], \"Limitation\": {\"Count\": 2}" | id '["Cursor"]')
call messages/getAll "\"MessageThreadIds\": [\"$penelope\"], \"Limitation\": {\"Count\": 2, \"Cursor\": \"$page\"}" > /dev/null
# Errors, by class: a bad Count, and no filter.
call messageThreads/getAll '"Limitation": {"Count": 0}, "MessageThreadIds": ["'"$penelope"'"]' > /dev/null
call messageThreads/getAll '"Limitation": {"Count": 10}' > /dev/null
kill -INT $rec; wait $rec || true
python3 - "$work/rec.jsonl" fidelity/vendor-examples.jsonl <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
header, exchanges = json.loads(lines[0]), [json.loads(l) for l in lines[1:]]
# The manual clock at each step above.
times = ["2022-03-08T12:06:50.000Z", "2022-03-09T13:19:46.000Z"] + ["2022-03-09T18:02:11.000Z"] * 2 + [
    "2022-03-09T18:04:30.000Z", "2022-03-09T18:05:02.000Z", "2022-03-09T18:06:40.000Z",
    "2022-03-09T18:08:15.000Z"] + ["2022-03-09T18:09:00.000Z"] * 8
assert len(exchanges) == len(times), len(exchanges)
thread = exchanges[0]["Response"]["MessageThreads"][0]["Id"]
message = exchanges[1]["Response"]["Messages"][0]["Message"]["Id"]
header["Upstream"] = ("vendor documentation (operations-messagethreads.md, operations-messages.md, "
                      "use-cases-messaging.md)")
out = [json.dumps(header, separators=(",", ":"), ensure_ascii=False)]
for exchange, at in zip(exchanges, times):
    exchange["TimeUtc"] = at
    line = json.dumps(exchange, separators=(",", ":"), ensure_ascii=False)
    out.append(line.replace(thread, "7f9325f6-ef44-4911-89a8-ae51010a5aa4")
                   .replace(message, "4bfe4675-98a9-4428-9ea9-ae5300dbaa93"))
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
