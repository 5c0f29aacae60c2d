"""The connector's HTTP face: Flux events and GitHub webhooks in, health and metrics out.

A request is answered only after its delivery is stored (see `store`), and nothing slow happens on
the request path: no GitHub call, no Prefect call. The checks that make a request unacceptable
answer 4xx with a one-line reason: 413 body too large, 415 not JSON, 400 malformed or not an event
of the kind the endpoint takes, 401 a signature that is missing or wrong when a key is configured.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fluxgate.connector.errors import BodyTooLarge, EventRejected, json_object
from fluxgate.connector.flux_events import KNOWN_REASONS, parse_flux_event
from fluxgate.connector.github_events import HANDLED_EVENTS, parse_github_event
from fluxgate.connector.intake import Intake, Item
from fluxgate.connector.metrics import KNOWN_KINDS, Metrics, bounded
from fluxgate.connector.readiness import CHECK_NAMES
from fluxgate.connector.signatures import verify_flux_signature, verify_github_signature
from fluxgate.connector.store import DeliveryState, Source, Store
from fluxgate.errors import one_line

__all__ = ["create_app"]

log = logging.getLogger(__name__)

GITHUB_EVENTS = HANDLED_EVENTS  # what the parsers understand is what the endpoint accepts


def _problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _read(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"body: larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"body: larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


_HEADER = re.compile(r"[!-~]{1,100}")  # GitHub's event names and delivery GUIDs: short, printable ASCII


def _header_problem(name: str, value: str) -> str | None:
    if not value:
        return f"{name}: header missing"
    if not _HEADER.fullmatch(value):
        return f"{name}: expected at most 100 printable ASCII characters"
    return None


def _is_json(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip().lower() in (
        "application/json",
        "application/vnd.github+json",
    )


def create_app(
    store: Store,
    metrics: Metrics,
    *,
    flux_key: str | None,
    webhook_secret: str | None,
    max_body: int,
    wake: Any = None,
    ready_checks: tuple[Any, ...] = (),
    on_start: Callable[[], None] | None = None,
    on_stop: Callable[[], None] | None = None,
    insecure: bool = False,
    collectors: tuple[Any, ...] = (),
) -> Starlette:
    intake = Intake(store, on_stored=wake)
    from prometheus_client import CollectorRegistry

    shared = CollectorRegistry(auto_describe=False)  # read from the store at each scrape
    for collector in collectors:
        shared.register(collector)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Start and stop processing with the server: uvicorn re-raises SIGTERM once it has shut
        # down, so code after `uvicorn.run()` would never run.
        if on_start is not None:
            await run_in_threadpool(on_start)
        # Everything imported so far lives for the whole process: take it out of the collector's
        # scans, and collect less often, so a full collection does not stall requests for tens of ms.
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)
        try:
            yield
        finally:
            if on_stop is not None:
                await run_in_threadpool(on_stop)

    def refuse(source: str, status: int, message: str) -> JSONResponse:
        metrics.rejected.labels(source, str(status)).inc()
        return _problem(status, message)

    async def signed_body(
        request: Request,
        source: str,
        header: str,
        key: str | None,
        verify: Callable[[bytes, str | None, str], bool],
    ) -> bytes | JSONResponse:
        """The raw body, or the 415/413/401 answer: checks both endpoints share, in the same order."""
        if not _is_json(request):
            return refuse(source, 415, "Content-Type: expected application/json")
        try:
            body = await _read(request, max_body)
        except BodyTooLarge as error:
            return refuse(source, 413, str(error))
        if key is not None and not verify(body, request.headers.get(header), key):
            return refuse(source, 401, f"{header}: missing or not a valid HMAC of the body")
        return body

    async def flux_events(request: Request) -> Response:
        body = await signed_body(request, "flux", "X-Signature", flux_key, verify_flux_signature)
        if isinstance(body, JSONResponse):
            return body
        try:
            event = parse_flux_event(body)
        except EventRejected as error:
            return refuse("flux", 400, str(error))
        return await store_delivery(
            "flux",
            (Source.FLUX, event.fingerprint(), event.object.kind, body),
            bounded(event.object.kind, KNOWN_KINDS),
            bounded(event.reason, KNOWN_REASONS),
        )

    async def store_delivery(source: str, item: Item, kind: str, reason: str) -> Response:
        """202 once the delivery is on disk; 503 (the sender retries) when the store cannot take it."""
        try:
            fresh = await intake.accept(item)
        except Exception as error:
            log.warning("could not store a %s delivery: %s", source, one_line(error))
            return _problem(503, "store unavailable: try again")
        if fresh:
            metrics.events.labels(source, kind, reason).inc()
        else:
            metrics.duplicates.labels(source).inc()
        return JSONResponse({"accepted": True, "duplicate": not fresh}, status_code=202)

    async def github_webhook(request: Request) -> Response:
        body = await signed_body(
            request, "github", "X-Hub-Signature-256", webhook_secret, verify_github_signature
        )
        if isinstance(body, JSONResponse):
            return body
        event = request.headers.get("x-github-event", "")
        delivery = request.headers.get("x-github-delivery", "")
        problem = _header_problem("X-GitHub-Event", event) or _header_problem("X-GitHub-Delivery", delivery)
        if problem:
            return refuse("github", 400, problem)
        try:
            # Everything a worker would refuse is refused now, with a 400 to the sender: a body that is
            # not a JSON object, text no store holds, a handled event without the fields it needs.
            fact = parse_github_event(event, body) if event in GITHUB_EVENTS else json_object(body)
        except EventRejected as error:
            return refuse("github", 400, str(error))
        if event not in GITHUB_EVENTS or fact is None:
            return JSONResponse({"accepted": False, "ignored": event}, status_code=202)
        return await store_delivery(
            "github", (Source.GITHUB, f"github:{delivery}", event, body), event, "none"
        )

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        # `?exclude=prefect&exclude=github`, the Kubernetes API server's convention: those checks are
        # still run and reported but do not decide. A Kubernetes readinessProbe excludes what only
        # delays deliveries, so an outage of Prefect does not take every replica out of the Service.
        excluded = set(request.query_params.getlist("exclude"))
        checks = {"store": await run_in_threadpool(store.ping)}
        problems = {} if checks["store"] else {"store": "the store does not answer"}
        for check in ready_checks:
            name, ok, problem = await run_in_threadpool(check)
            checks[name] = ok
            if problem:
                problems[name] = problem
        unknown = sorted(excluded - set(CHECK_NAMES))
        if unknown:
            return _problem(400, f"exclude={unknown[0]}: no such check; one of {', '.join(CHECK_NAMES)}")
        ready = all(ok for name, ok in checks.items() if name not in excluded)
        answer: dict[str, Any] = {"ready": ready, "checks": checks, "problems": problems}
        if insecure:
            answer["insecure"] = True
        return JSONResponse(answer, status_code=200 if ready else 503)

    async def metrics_endpoint(_request: Request) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

        registry = metrics.registry
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # the worker process counts too
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry) + await run_in_threadpool(generate_latest, shared)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    async def deliveries(request: Request) -> Response:
        wanted = request.query_params.get("state")
        if wanted is not None and wanted not in set(DeliveryState):
            return _problem(400, f"state: one of {', '.join(DeliveryState)}")
        state = DeliveryState(wanted) if wanted else None
        return JSONResponse(
            {
                "counts": await run_in_threadpool(store.counts),
                "writes": await run_in_threadpool(store.outbox_counts),
                "deliveries": await run_in_threadpool(store.listing, state),
            }
        )

    return Starlette(
        lifespan=lifespan,
        routes=[
            Route("/flux/events", flux_events, methods=["POST"]),
            Route("/github/webhook", github_webhook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            Route("/deliveries", deliveries, methods=["GET"]),
        ],
    )
