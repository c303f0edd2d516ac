"""Deliberately broken variants of our modules, to prove the conformance kit catches real faults.

Each fault is a small ASGI wrapper around the real app (or the real app with its validator
replaced), so the rest of the module behaves exactly as the real one. `uvicorn
tests.contract.kit_broken_modules:<factory> --factory` serves one as a real process (settings from the
environment, as for the real modules).
"""

from __future__ import annotations

import json

from services.medication.app import create_app as create_medication_app


class RewritesStatus:
    """Answers `new` where the app answers `old`."""

    def __init__(self, app, old: int, new: int):
        self.app, self.old, self.new = app, old, new

    async def __call__(self, scope, receive, send):
        async def sending(message):
            if message["type"] == "http.response.start" and message["status"] == self.old:
                message = {**message, "status": self.new}
            await send(message)

        await self.app(scope, receive, sending)


class CreatedAsOk(RewritesStatus):
    """Answers 200 where the app answers 201 (a create)."""

    def __init__(self, app):
        super().__init__(app, 201, 200)


class DropsHeader:
    """Removes one response header (e.g. ETag)."""

    def __init__(self, app, header: str):
        self.app, self.header = app, header.lower().encode()

    async def __call__(self, scope, receive, send):
        async def sending(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [(k, v) for k, v in message["headers"] if k.lower() != self.header]}
            await send(message)

        await self.app(scope, receive, sending)


class IgnoresIfMatch:
    """Never checks If-Match: replaces whatever the client sent by the current version's ETag, the
    way a server that does not implement optimistic locking behaves."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] in ("PUT", "DELETE"):
            current = await self._current_etag(scope)
            headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"if-match"]
            if current:
                headers.append((b"if-match", current))
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)

    async def _current_etag(self, scope) -> bytes | None:
        """Ask the app itself (a GET of the same URL) for the latest version's ETag."""
        captured: dict = {}

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                captured.update(dict(message["headers"]))

        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in (b"if-match", b"content-length")]
        path = scope["path"].split("::")[0]  # a version uid in the URL: ask for the latest
        await self.app({**scope, "method": "GET", "headers": headers, "path": path,
                        "raw_path": path.encode()}, receive, send)
        return captured.get(b"etag")


class RenamesKey:
    """Renames a JSON key (at any depth) in every JSON response, e.g. `ehr_id` -> `ehrId`."""

    def __init__(self, app, old: str, new: str):
        self.app, self.old, self.new = app, old, new

    def _rename(self, node):
        if isinstance(node, dict):
            return {(self.new if k == self.old else k): self._rename(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self._rename(v) for v in node]
        return node

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: dict = {}
        body = bytearray()

        async def sending(message):
            if message["type"] == "http.response.start":
                start.update(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            headers = dict(start["headers"])
            content = bytes(body)
            if b"json" in headers.get(b"content-type", b"") and content:
                content = json.dumps(self._rename(json.loads(content)), ensure_ascii=False).encode()
            headers[b"content-length"] = str(len(content)).encode()
            await send({**start, "headers": list(headers.items())})
            await send({"type": "http.response.body", "body": content})

        await self.app(scope, receive, sending)


def accept_everything(composition: dict, template_id: str) -> list:
    """A validator that finds no issue: template validation switched off."""
    return []


# -- uvicorn factories (settings from the MEDICATION_* environment) ------------------------------

def medication_without_validation():
    return create_medication_app(validator=accept_everything)


def medication_created_as_ok():
    return CreatedAsOk(create_medication_app())


def medication_ignoring_if_match():
    return IgnoresIfMatch(create_medication_app())


def medication_renaming_ehr_id():
    return RenamesKey(create_medication_app(), "ehr_id", "ehrId")
