-- What Debezium needs in the binance database. Run as the table owner
-- (the extractor's role); the role itself is created in 01_roles.sql.

-- Heartbeats: Debezium runs heartbeat.action.query against this table every
-- heartbeat interval, so its publication always has fresh WAL to confirm and
-- the replication slot's confirmed LSN advances while the market tables are
-- idle (otherwise an idle slot pins WAL forever).
CREATE TABLE IF NOT EXISTS :"schema".debezium_heartbeat (
    id       integer     PRIMARY KEY,
    beat_at  timestamptz NOT NULL
);

-- Signals: a row here asks Debezium for an incremental snapshot of a table
-- (`binance-cdc connector snapshot TABLE`); Debezium also writes its snapshot
-- watermarks here.
CREATE TABLE IF NOT EXISTS :"schema".debezium_signal (
    id    varchar(64)   PRIMARY KEY,
    type  varchar(32)   NOT NULL,
    data  varchar(2048)
);

-- Before-images. DEFAULT (the primary key) is enough to delete or update a
-- row by key downstream. FULL where the old values carry meaning: the
-- previous quantity of a price level and the previous price of a symbol
-- (both tiny tables, so the extra WAL is negligible), and trades, whose
-- Cassandra query table is keyed by trade time: a delete must carry the time
-- to find that row. Trades are insert-only, so FULL costs nothing there.
ALTER TABLE :"schema".recent_trades  REPLICA IDENTITY FULL;
ALTER TABLE :"schema".klines         REPLICA IDENTITY DEFAULT;
ALTER TABLE :"schema".daily_ticker   REPLICA IDENTITY DEFAULT;
ALTER TABLE :"schema".order_book     REPLICA IDENTITY FULL;
ALTER TABLE :"schema".latest_prices  REPLICA IDENTITY FULL;

-- Exactly the replicated tables plus Debezium's two helper tables; never
-- extraction_runs. Created here (not by Debezium) so its role needs no
-- CREATE rights; SET TABLE makes re-runs converge to this list.
SELECT 'CREATE PUBLICATION binance_cdc'
WHERE NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'binance_cdc') \gexec
ALTER PUBLICATION binance_cdc SET TABLE
    :"schema".recent_trades, :"schema".order_book, :"schema".klines,
    :"schema".daily_ticker, :"schema".latest_prices,
    :"schema".debezium_heartbeat, :"schema".debezium_signal;

-- Debezium reads exactly the published tables (snapshots) and writes only its
-- helpers: not extraction_runs, not live_trades, nothing created later. The
-- revokes make clusters set up by earlier versions (SELECT on the whole schema)
-- converge to this; one transaction, so a running snapshot never sees a gap.
BEGIN;
SELECT format('GRANT USAGE ON SCHEMA %I TO %I', :'schema', :'debezium_user') \gexec
SELECT format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON TABLES FROM %I',
              :'schema', :'debezium_user') \gexec
SELECT format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM %I', :'schema', :'debezium_user') \gexec
SELECT format('GRANT SELECT ON %s TO %I',
              string_agg(format('%I.%I', schemaname, tablename), ', '), :'debezium_user')
FROM pg_publication_tables WHERE pubname = 'binance_cdc' \gexec
SELECT format('GRANT INSERT, UPDATE ON %I.debezium_heartbeat TO %I', :'schema',
              :'debezium_user') \gexec
SELECT format('GRANT INSERT, UPDATE, DELETE ON %I.debezium_signal TO %I', :'schema',
              :'debezium_user') \gexec
COMMIT;
