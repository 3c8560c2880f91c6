"""Fills in the demo tenant's tokens, so that generated Connector API
requests reach the operation instead of stopping at authentication. A token
that the generator made invalid on purpose (not a string, or empty) is left
alone."""
import schemathesis

TOKENS = {
    "ClientToken": "E0D439EE522F44368DC78E1BFB03710C-D24FB11DBE31D4621C4817E028D9E1D",
    "AccessToken": "C66EF7B239D24632943D115EDE9CB810-EA00F8FD8294692C940F6B5A8F9453D",
}


@schemathesis.hook
def map_body(ctx, body):
    if isinstance(body, dict):
        for name, token in TOKENS.items():
            if isinstance(body.get(name), str) and body[name] != "":
                body[name] = token
    return body
