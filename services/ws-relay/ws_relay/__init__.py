"""ws-relay: the live feed of vehicle positions for the map, from ``websocket_updates_topic`` to WebSockets.

Pure logic (no I/O): :mod:`ws_relay.table` (latest position per vehicle), :mod:`ws_relay.coalesce`
(what each v1 client gets each round), :mod:`ws_relay.subscriptions` (what each v2 client gets: tile
subscriptions, shared frames), :mod:`ws_relay.tiles` (the tile grid), :mod:`ws_relay.geo` (viewports,
antimeridian), :mod:`ws_relay.protocol` (records, v1 frames) and :mod:`ws_relay.protocol_v2` (v2
frames). I/O: :mod:`ws_relay.kafka_source` (aiokafka), :mod:`ws_relay.hub` (fan-out),
:mod:`ws_relay.server` (websockets), :mod:`ws_relay.app` (process).
"""
