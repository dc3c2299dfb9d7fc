-- The live trade writer's progress, one row per symbol. Not replicated: it is
-- bookkeeping, like extraction_runs, and 03_replication.sql lists the
-- publication's tables explicitly. The writer applies this file itself at start
-- (so an older database needs no manual step), filling in :"schema" as psql does.

CREATE TABLE IF NOT EXISTS :"schema".live_trade_progress (
    symbol            text        PRIMARY KEY,
    last_complete_id  bigint      NOT NULL,   -- every trade id up to here is stored or a known gap
    known_gaps        jsonb       NOT NULL DEFAULT '[]'::jsonb,  -- [[low, high], ...] absent at the exchange
    updated_at        timestamptz NOT NULL
);
