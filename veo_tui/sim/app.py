"""The stand-in as an ASGI application: kie.ai's endpoints, its habits, its faults.

The Starlette app answers the endpoints of ``shared/reference/kie-api.md`` the
way kie.ai does (HTTP 200 with the real status in the body ``code``, "record is
null." for ids it does not know or does not show yet), and serves the videos its
result URLs point at. :class:`SimApp` wraps it in a faulty front, as a CDN and
a gateway front kie.ai, that breaks the requests the fault plan picks.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import re
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from veo_tui.sim import bodies
from veo_tui.sim.faults import FaultKind
from veo_tui.sim.scenario import ASPECT_RATIOS, MODELS
from veo_tui.sim.tasks import (
    CREDIT_COSTS,
    UHD_COST,
    UHD_SECONDS,
    SimState,
    SimTask,
    TaskState,
)

SAMPLE_VIDEO = (
    resources.files("veo_tui.sim").joinpath("assets", "sample.mp4").read_bytes()
)
"""The small real MP4 (H.264 and AAC, 2 s, 160x90) behind every result URL."""

EXTEND_MODELS = {"fast": "veo3_fast", "quality": "veo3", "lite": "veo3_lite"}
"""Models ``extend`` accepts, and the ``generate`` model each stands for."""

_FILE_NAME = re.compile(r"(result|origin|full|1080p|4k)-\d{1,2}\.mp4")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")

_HTML_500 = (
    b"<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n"
    b"<center><h1>500 Internal Server Error</h1></center>\r\n"
    b"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n"
    b"<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
)


def create_app(state: SimState) -> SimApp:
    """The whole stand-in for ``state``: the kie.ai endpoints behind the faults."""
    return SimApp(state)


def _json(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)


class _Api:
    """The endpoint handlers, reading the state of the app that owns them."""

    def __init__(self, owner: SimApp) -> None:
        self._owner = owner

    @property
    def state(self) -> SimState:
        return self._owner.state

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            key.strip().encode(), self.state.key.encode()
        )

    async def index(self, request: Request) -> Response:
        lines = [
            "veo-tui sim: a local stand-in for the kie.ai Veo 3.1 API.",
            f"scenario: {self.state.scenario.name}",
            "endpoints: /api/v1/veo/record-info?taskId=ID, /api/v1/veo/generate, "
            "/api/v1/veo/extend, /api/v1/veo/get-1080p-video, "
            "/api/v1/veo/get-4k-video, /api/v1/chat/credit",
        ]
        return PlainTextResponse("\n".join(lines) + "\n")

    async def record_info(self, request: Request) -> Response:
        if not self._authorised(request):
            return _json(bodies.refused_key())
        task = self.state.tasks.get(request.query_params.get("taskId", "").strip())
        if task is None:
            return _json(bodies.envelope(422, bodies.RECORD_IS_NULL))
        body = bodies.record_info(task, self.state.now(), str(request.base_url))
        return _json(body)

    async def credit(self, request: Request) -> Response:
        if not self._authorised(request):
            return _json(bodies.refused_key())
        balance = round(self.state.credits, 2)
        return _json(bodies.envelope(200, "success", balance))

    async def _prompted(self, request: Request) -> dict[str, Any] | Response:
        """The JSON body of a request that must carry a key and a prompt."""
        if not self._authorised(request):
            return _json(bodies.refused_key())
        payload = await _read_json(request)
        if payload is None:
            return _json(bodies.envelope(422, "Invalid request body: expected JSON"))
        prompt = payload.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            # kie.ai has been seen answering a validation text with code 500.
            return _json(bodies.envelope(500, "prompt: This field is required"))
        return payload

    async def generate(self, request: Request) -> Response:
        payload = await self._prompted(request)
        if isinstance(payload, Response):
            return payload
        prompt = str(payload["prompt"])
        model = payload.get("model", "veo3_fast")
        if model not in MODELS:
            return _json(
                bodies.envelope(422, f"model must be one of {', '.join(MODELS)}")
            )
        ratio = payload.get("aspect_ratio", payload.get("aspectRatio", "16:9"))
        if ratio not in ASPECT_RATIOS:
            return _json(
                bodies.envelope(
                    422, f"aspect_ratio must be one of {', '.join(ASPECT_RATIOS)}"
                )
            )
        refusal = self._charge(CREDIT_COSTS[model])
        if refusal is not None:
            return refusal

        # Moderation is asynchronous at kie.ai: every prompt gets a task id.
        task = self.state.create_task(prompt=prompt, model=model, aspect_ratio=ratio)
        return _json(bodies.envelope(200, "success", {"taskId": task.task_id}))

    async def extend(self, request: Request) -> Response:
        payload = await self._prompted(request)
        if isinstance(payload, Response):
            return payload
        prompt = str(payload["prompt"])
        model = payload.get("model", "fast")
        if model not in EXTEND_MODELS:
            return _json(
                bodies.envelope(422, "model must be one of fast, quality, lite")
            )
        source = self.state.tasks.get(str(payload.get("taskId", "")))
        refusal = self._source_refusal(source)
        if refusal is not None or source is None:
            return refusal or _json(bodies.envelope(422, bodies.RECORD_IS_NULL))
        refusal = self._charge(CREDIT_COSTS[model])
        if refusal is not None:
            return refusal

        task = self.state.create_task(
            prompt=prompt,
            model=EXTEND_MODELS[model],
            aspect_ratio=source.aspect_ratio,
            extends=source.task_id,
        )
        return _json(bodies.envelope(200, "success", {"taskId": task.task_id}))

    async def get_1080p(self, request: Request) -> Response:
        if not self._authorised(request):
            return _json(bodies.refused_key())
        task = self.state.tasks.get(request.query_params.get("taskId", "").strip())
        refusal = self._source_refusal(task)
        if refusal is not None or task is None:
            return refusal or _json(bodies.envelope(422, bodies.RECORD_IS_NULL))
        index = _index(request.query_params.get("index"))
        if self.state.now() < task.hd_ready_at:
            return _json(
                bodies.envelope(
                    400,
                    "1080P is processing. It should be ready in 1-2 minutes. "
                    "Please check back shortly.",
                )
            )
        url = bodies.file_url(str(request.base_url), task.task_id, f"1080p-{index}")
        return _json(bodies.envelope(200, "success", {"resultUrl": url}))

    async def get_4k(self, request: Request) -> Response:
        if not self._authorised(request):
            return _json(bodies.refused_key())
        payload = await _read_json(request)
        if payload is None:
            return _json(bodies.envelope(422, "Invalid request body: expected JSON"))
        task = self.state.tasks.get(str(payload.get("taskId", "")))
        refusal = self._source_refusal(task)
        if refusal is not None or task is None:
            return refusal or _json(bodies.envelope(422, bodies.RECORD_IS_NULL))
        index = _index(payload.get("index"))
        now = self.state.now()

        if task.uhd_ready_at is None:
            refusal = self._charge(UHD_COST)
            if refusal is not None:
                return refusal
            task.uhd_ready_at = now + self.state.compress(UHD_SECONDS)
            data = {"taskId": task.task_id, "resultUrls": []}
            return _json(bodies.envelope(200, "success", data))
        if now < task.uhd_ready_at:
            return _json(bodies.envelope(422, "4k is processing..."))
        url = bodies.file_url(str(request.base_url), task.task_id, f"4k-{index}")
        data = {"taskId": task.task_id, "resultUrls": [url]}
        return _json(bodies.envelope(200, "success", data))

    async def video(self, request: Request) -> Response:
        task = self.state.tasks.get(request.path_params["task_id"])
        name = request.path_params["name"]
        if (
            task is None
            or not _FILE_NAME.fullmatch(name)
            or task.state(self.state.now()) is not TaskState.SUCCESS
        ):
            # Expired media is deleted at kie.ai; its URLs stop working.
            return PlainTextResponse("Not Found\n", status_code=404)
        return _ranged(request, SAMPLE_VIDEO)

    def _source_refusal(self, task: SimTask | None) -> Response | None:
        """Why a task cannot be extended or upscaled now, or ``None`` if it can."""
        if task is None:
            return _json(bodies.envelope(422, bodies.RECORD_IS_NULL))
        state = task.state(self.state.now())
        if state is TaskState.EXPIRED:
            return _json(bodies.envelope(422, bodies.RETENTION_MESSAGE))
        if state is TaskState.INVISIBLE:
            return _json(bodies.envelope(422, bodies.RECORD_IS_NULL))
        if state is not TaskState.SUCCESS:
            return _json(bodies.envelope(422, bodies.NOT_SUCCESS))
        return None

    def _charge(self, cost: float) -> Response | None:
        """Take ``cost`` credits, or the refusal when over the limit or the balance."""
        if not self.state.admit_creation():
            return _json(
                bodies.envelope(
                    429,
                    "The request frequency is too high. Please try again later.",
                )
            )
        if self.state.credits < cost:
            return _json(
                bodies.envelope(
                    402, "Credits insufficient. Please top up your account."
                )
            )
        self.state.credits -= cost
        return None


async def _read_json(request: Request) -> dict[str, Any] | None:
    try:
        payload = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def _index(value: object) -> int:
    try:
        index = int(str(value))
    except ValueError:
        return 0
    return index if 0 <= index < 100 else 0


def _ranged(request: Request, content: bytes) -> Response:
    """Serve ``content`` whole or, for a single ``Range: bytes=`` request, in part."""
    size = len(content)
    headers = {"Accept-Ranges": "bytes", "Content-Type": "video/mp4"}
    header = request.headers.get("range")
    if header is None:
        return Response(content, headers=headers)

    match = _RANGE.fullmatch(header.strip())
    start: int | None = None
    end = size - 1
    if match and (match.group(1) or match.group(2)):
        first, last = match.group(1), match.group(2)
        if first:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
        else:
            start = max(size - int(last), 0)
    if start is None or start >= size or start > end:
        headers["Content-Range"] = f"bytes */{size}"
        return Response(b"", status_code=416, headers=headers)
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(content[start : end + 1], status_code=206, headers=headers)


class SimApp:
    """The stand-in as one ASGI app: kie.ai's endpoints behind a faulty front.

    The front counts requests by path (so tests can see that a client really
    retried), adds the configured latency and breaks the API requests the fault
    plan picks, as a CDN and a gateway do in front of kie.ai, and the video
    downloads a test forces a fault on; everything else reaches the endpoints.
    ``state`` may be swapped between requests, which lets a test suite reuse
    one server with a fresh world per test.
    """

    def __init__(self, state: SimState) -> None:
        self.state = state
        api = _Api(self)
        routes = [
            Route("/", api.index, methods=["GET"]),
            Route("/api/v1/veo/record-info", api.record_info, methods=["GET"]),
            Route("/api/v1/veo/generate", api.generate, methods=["POST"]),
            Route("/api/v1/veo/extend", api.extend, methods=["POST"]),
            Route("/api/v1/veo/get-1080p-video", api.get_1080p, methods=["GET"]),
            Route("/api/v1/veo/get-4k-video", api.get_4k, methods=["POST"]),
            Route("/api/v1/chat/credit", api.credit, methods=["GET"]),
            # The server decodes %2F: an id with "/" arrives as several segments.
            Route("/files/{task_id:path}/{name}", api.video, methods=["GET", "HEAD"]),
        ]
        self.app: ASGIApp = Starlette(routes=routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        self.state.requests[path] += 1
        if path.startswith("/api/"):
            delay = self.state.faults.delay()
            if delay > 0:
                await asyncio.sleep(delay)
            kind = self.state.faults.choose()
        elif path.startswith("/files/"):
            kind = self.state.faults.choose_file()
        else:
            kind = None

        if kind is None:
            await self.app(scope, receive, send)
        elif kind is FaultKind.TRUNCATED_JSON or kind is FaultKind.DROPPED_CONNECTION:
            await self._break_body(kind, scope, receive, send)
        elif kind is FaultKind.HANG:
            await self._hang(receive, send)
        else:
            await _send_canned(send, *self._canned(kind))

    def _canned(self, kind: FaultKind) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Status, headers and body of the faults that replace the answer whole."""
        json_type = (b"content-type", b"application/json")
        html_type = (b"content-type", b"text/html")
        if kind is FaultKind.RATE_LIMIT:
            retry = str(self.state.faults.settings.retry_after).encode()
            body = bodies.envelope(
                429, "The request frequency is too high. Please try again later."
            )
            return 429, [json_type, (b"retry-after", retry)], _dump(body)
        if kind is FaultKind.MAINTENANCE:
            body = bodies.envelope(
                455, "Service Unavailable - System is currently undergoing maintenance"
            )
            return 200, [json_type], _dump(body)
        if kind is FaultKind.SERVER_ERROR:
            return 500, [html_type], _HTML_500
        if kind is FaultKind.BAD_GATEWAY:
            return 502, [html_type], _HTML_502
        if kind is FaultKind.CDN_REFUSAL:
            return 403, [(b"content-type", b"text/plain")], b"error code: 1010"
        body = bodies.envelope(500, "Internal Error, Please try again later.")
        return 200, [json_type], _dump(body)

    async def _break_body(
        self, kind: FaultKind, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Answer for real, then cut the body: cleanly, or by closing the socket."""
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, capture)
        start = messages[0]
        body = b"".join(m.get("body", b"") for m in messages[1:])
        cut = max(len(body) // 2, 1)

        if kind is FaultKind.TRUNCATED_JSON:
            headers = [
                (name, value)
                for name, value in start.get("headers", [])
                if name.lower() != b"content-length"
            ]
            headers.append((b"content-length", str(cut).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body[:cut]})
            return
        # The headers promise the whole body; returning after half of it makes
        # the server close the connection, which the client sees mid-body.
        await send(start)
        await send(
            {"type": "http.response.body", "body": body[:cut], "more_body": True}
        )

    async def _hang(self, receive: Receive, send: Send) -> None:
        """Say nothing until the client gives up, or ``hang_for`` seconds pass."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.state.faults.settings.hang_for):
                while (await receive())["type"] != "http.disconnect":
                    pass
                return
        # The client is still there: promise a body and close without it.
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"64")],
            }
        )


async def _send_canned(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _dump(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()
