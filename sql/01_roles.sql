-- Roles of the binance-cdc database. Run as a superuser, connected to any
-- database; :'name' placeholders are filled in by `binance-cdc` from settings
-- (or by psql -v name=value in the docker image's init script).

-- The extractor's role: owns the binance schema and its tables.
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'app_user', :'app_password')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_user') \gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'app_user', :'app_password') \gexec

-- Debezium's role: may stream the WAL and read the schema, nothing else.
-- Not a superuser, not the table owner: the publication is created by the
-- owner (sql/03_replication.sql), so Debezium never needs CREATE rights.
SELECT format('CREATE ROLE %I LOGIN REPLICATION PASSWORD %L', :'debezium_user', :'debezium_password')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'debezium_user') \gexec
SELECT format('ALTER ROLE %I LOGIN REPLICATION NOSUPERUSER PASSWORD %L', :'debezium_user', :'debezium_password') \gexec

SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'app_user')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'database') \gexec
