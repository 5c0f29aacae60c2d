"""shop worker: takes order jobs off a Redis list and processes them until told to stop."""

import json
import logging
import os
import signal
import time

import redis

QUEUE_URL = os.environ.get("QUEUE_URL", "redis://localhost:6379/0")
QUEUE_NAME = os.environ.get("QUEUE_NAME", "shop-orders")
POLL_SECONDS = int(os.environ.get("POLL_SECONDS", "5"))

logging.basicConfig(
    level=os.environ.get("LOG_LEVEL", "info").upper(),
    format="%(asctime)s %(levelname)s %(message)s",
)
log = logging.getLogger("shop-worker")

running = True


def stop(*_: object) -> None:
    global running
    log.info("SIGTERM received, finishing the current job")
    running = False


def process(job: dict) -> None:
    log.info("processing order %s (%d items)", job.get("order_id"), len(job.get("items", [])))
    time.sleep(0.1)  # stand-in for the real work: payment capture, stock reservation, e-mail


def main() -> None:
    signal.signal(signal.SIGTERM, stop)
    queue = redis.Redis.from_url(QUEUE_URL, socket_timeout=POLL_SECONDS + 5)
    log.info("shop-worker %s consuming %s", os.environ.get("APP_VERSION", "dev"), QUEUE_NAME)
    while running:
        try:
            item = queue.brpop([QUEUE_NAME], timeout=POLL_SECONDS)
        except redis.ConnectionError as exc:
            log.warning("queue unavailable: %s; retrying", exc)
            time.sleep(POLL_SECONDS)
            continue
        if item is None:
            continue
        try:
            process(json.loads(item[1]))
        except Exception:  # a bad job must not kill the worker
            log.exception("job failed: %r", item[1][:200])


if __name__ == "__main__":
    main()
