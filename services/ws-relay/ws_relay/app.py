"""Process wiring: settings, logs, the Kafka source, the fan-out hub, the server and a graceful stop.

SIGTERM (or SIGINT): stop accepting, close every client with 1001 (going away), stop the consumer,
exit 0. A second signal during that falls back to the default handler and ends the process at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
import uuid

from websockets.asyncio.server import serve
from websockets.frames import CloseCode

from geostream.logs import setup_logging
from ws_relay.hub import Hub
from ws_relay.kafka_source import KafkaSource
from ws_relay.server import Relay
from ws_relay.settings import Settings
from ws_relay.stats import Stats
from ws_relay.table import LatestTable

log = logging.getLogger("ws-relay")


def instance_id(prefix: str) -> str:
    """Unique per process, so two relays never share Kafka state: ``<prefix>-<host>-<8 hex>``."""
    return f"{prefix or 'ws-relay'}-{socket.gethostname()}-{uuid.uuid4().hex[:8]}"


async def run(settings: Settings) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(sig: signal.Signals) -> None:
        log.info("shutting down", extra={"signal": sig.name})
        for s in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(s)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)

    ident = instance_id(settings.kafka_group_id)
    table = LatestTable(
        settings.relay_max_vehicles,
        int(settings.relay_vehicle_ttl_s * 1000),
        history_limit=settings.relay_history_limit,
    )
    stats = Stats()
    source = KafkaSource(settings, table, stats, client_id=ident)
    hub = Hub(
        table,
        stats,
        interval_s=settings.relay_frame_interval_ms / 1000,
        slow_timeout_s=settings.relay_slow_client_timeout_s,
        max_clients=settings.relay_max_clients,
        write_limit=settings.relay_client_write_limit_bytes,
        heartbeat_s=settings.relay_heartbeat_s,
        ttl_s=settings.relay_vehicle_ttl_s,
    )
    relay = Relay(settings, table, stats, hub, source, ident)
    server = await serve(
        relay.handler,
        settings.websocket_host,
        settings.websocket_port,
        process_request=relay.process_request,
        select_subprotocol=relay.select_subprotocol,
        compression="deflate" if settings.relay_compression else None,
        max_size=settings.relay_max_message_bytes,
        max_queue=4,
        write_limit=settings.relay_client_write_limit_bytes,
        close_timeout=settings.relay_close_timeout_s,
        ping_interval=settings.relay_ping_interval_s,
        ping_timeout=settings.relay_ping_timeout_s,
        logger=logging.getLogger("ws-relay.websockets"),
    )
    ports = sorted({s.getsockname()[1] for s in server.sockets})
    log.info(
        "listening",
        extra={
            "host": settings.websocket_host,
            "ports": ports,
            "topic": settings.kafka_websocket_topic,
            "instance": ident,
        },
    )
    tasks = [
        asyncio.create_task(source.run(), name="kafka-source"),
        asyncio.create_task(hub.run(), name="hub"),
    ]
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    code = 0
    for task in done:
        if task is not stopper:
            # task.exception() of a cancelled task raises its CancelledError: it would end run() here.
            error = None if task.cancelled() else task.exception()
            how = "cancelled" if task.cancelled() else "raised" if error else "returned"
            log.error("task ended unexpectedly", exc_info=error, extra={"task": task.get_name(), "how": how})
            code = 1

    server.close(close_connections=True, code=CloseCode.GOING_AWAY, reason="server shutting down")
    try:
        await asyncio.wait_for(server.wait_closed(), settings.relay_close_timeout_s + 5)
    except TimeoutError:
        log.warning("clients still closing at the deadline")
    source.stop()
    tasks[1].cancel()
    try:
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 20)
    except TimeoutError:
        log.warning("kafka consumer did not stop in time")
    stopper.cancel()
    log.info("stopped", extra={"clients_served": stats.clients_accepted, "records": stats.records})
    return code


def main() -> None:
    settings = Settings()
    setup_logging("ws-relay", settings.log_level)
    # Library chatter (one line per health probe, per connection) only when debugging.
    for noisy in ("aiokafka", "ws-relay.websockets"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    sys.exit(asyncio.run(run(settings)))
