"""ws-relay: the live feed of vehicle positions for the map, from ``websocket_updates_topic`` to WebSockets.

Pure logic (no I/O): :mod:`ws_relay.table` (latest position per vehicle), :mod:`ws_relay.coalesce`
(what each client gets each round), :mod:`ws_relay.geo` (viewports, antimeridian) and
:mod:`ws_relay.protocol` (records and frames). I/O: :mod:`ws_relay.kafka_source` (aiokafka),
:mod:`ws_relay.hub` (fan-out), :mod:`ws_relay.server` (websockets), :mod:`ws_relay.app` (process).
"""
