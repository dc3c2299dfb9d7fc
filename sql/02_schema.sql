-- Tables of the replicated schema (POSTGRES_SCHEMA, `binance` by default; psql
-- fills in :"schema"). Must agree with binance_cdc/datasets.py
-- (tests/integration/test_postgres_schema.py checks it). Run in the app database.
-- Prices and quantities are NUMERIC without a fixed scale: Binance's precision
-- varies per symbol (2 to 8 decimals) and every value must round-trip exactly.

CREATE SCHEMA IF NOT EXISTS :"schema";

CREATE TABLE IF NOT EXISTS :"schema".recent_trades (
    symbol          text        NOT NULL,
    trade_id        bigint      NOT NULL,
    price           numeric     NOT NULL,
    qty             numeric     NOT NULL,
    quote_qty       numeric     NOT NULL,
    trade_time      timestamptz NOT NULL,
    is_buyer_maker  boolean     NOT NULL,
    is_best_match   boolean     NOT NULL,
    PRIMARY KEY (symbol, trade_id)
);

CREATE TABLE IF NOT EXISTS :"schema".order_book (
    symbol          text        NOT NULL,
    side            text        NOT NULL CHECK (side IN ('bid', 'ask')),
    price           numeric     NOT NULL,
    quantity        numeric     NOT NULL,
    last_update_id  bigint      NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (symbol, side, price)
);

CREATE TABLE IF NOT EXISTS :"schema".klines (
    symbol                  text        NOT NULL,
    interval                text        NOT NULL,
    open_time               timestamptz NOT NULL,
    close_time              timestamptz NOT NULL,
    open                    numeric     NOT NULL,
    high                    numeric     NOT NULL,
    low                     numeric     NOT NULL,
    close                   numeric     NOT NULL,
    volume                  numeric     NOT NULL,
    quote_volume            numeric     NOT NULL,
    trade_count             bigint      NOT NULL,
    taker_buy_base_volume   numeric     NOT NULL,
    taker_buy_quote_volume  numeric     NOT NULL,
    is_closed               boolean     NOT NULL,
    PRIMARY KEY (symbol, interval, open_time)
);

CREATE TABLE IF NOT EXISTS :"schema".daily_ticker (
    symbol                text        NOT NULL PRIMARY KEY,
    price_change          numeric     NOT NULL,
    price_change_percent  numeric     NOT NULL,
    weighted_avg_price    numeric     NOT NULL,
    prev_close_price      numeric     NOT NULL,
    last_price            numeric     NOT NULL,
    last_qty              numeric     NOT NULL,
    bid_price             numeric     NOT NULL,
    bid_qty               numeric     NOT NULL,
    ask_price             numeric     NOT NULL,
    ask_qty               numeric     NOT NULL,
    open_price            numeric     NOT NULL,
    high_price            numeric     NOT NULL,
    low_price             numeric     NOT NULL,
    volume                numeric     NOT NULL,
    quote_volume          numeric     NOT NULL,
    open_time             timestamptz NOT NULL,
    close_time            timestamptz NOT NULL,
    first_id              bigint      NOT NULL,
    last_id               bigint      NOT NULL,
    trade_count           bigint      NOT NULL
);

CREATE TABLE IF NOT EXISTS :"schema".latest_prices (
    symbol      text        NOT NULL PRIMARY KEY,
    price       numeric     NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- Not replicated: one row per dataset per extraction run.
CREATE TABLE IF NOT EXISTS :"schema".extraction_runs (
    run_id          bigserial   PRIMARY KEY,
    dataset         text        NOT NULL,
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz NOT NULL,
    status          text        NOT NULL CHECK (status IN ('ok', 'failed', 'partial')),
    symbols         text[]      NOT NULL,
    rows_inserted   integer     NOT NULL DEFAULT 0,
    rows_updated    integer     NOT NULL DEFAULT 0,
    rows_deleted    integer     NOT NULL DEFAULT 0,
    requests        integer     NOT NULL DEFAULT 0,
    weight_used     integer     NOT NULL DEFAULT 0,
    error           text,
    details         jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS extraction_runs_dataset_started
    ON :"schema".extraction_runs (dataset, started_at DESC);
