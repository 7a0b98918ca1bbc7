-- Version 2: several `agora serve` processes on one store (see sqlite/002_servers.sql).
CREATE TABLE servers (
    id         TEXT PRIMARY KEY,
    host       TEXT NOT NULL,
    pid        BIGINT NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    heartbeat  DOUBLE PRECISION NOT NULL
);
ALTER TABLE runs ADD COLUMN server_id TEXT;
ALTER TABLE runs ADD COLUMN cancel_requested BIGINT NOT NULL DEFAULT 0;
CREATE INDEX runs_server ON runs (server_id, status);
