"""trips-api: history for the map, answered by MobilityDB's SQL functions (sql/040_queries.sql)."""
