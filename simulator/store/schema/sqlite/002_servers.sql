-- Version 2: several `agora serve` processes on one store. A server registers itself and renews its
-- heartbeat; a queued run is claimed by setting server_id; a cancel from another server sets cancel_requested.
CREATE TABLE servers (
    id         TEXT PRIMARY KEY,
    host       TEXT NOT NULL,
    pid        INTEGER NOT NULL,
    started_at REAL NOT NULL,
    heartbeat  REAL NOT NULL
);
ALTER TABLE runs ADD COLUMN server_id TEXT;
ALTER TABLE runs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
CREATE INDEX runs_server ON runs (server_id, status);
