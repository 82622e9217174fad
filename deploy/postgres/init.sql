-- One login role per service, owning the schema of the same name and nothing else.
--
-- Run with psql (15 or later) as a superuser, connected to the platform's database. The postgres
-- image runs it on first start (docker-compose.yml mounts it into /docker-entrypoint-initdb.d);
-- elsewhere: psql -v ON_ERROR_STOP=1 -d platform -f init.sql. Each role's password comes from
-- the environment: CUSTOMERS_DB_PASSWORD, POINTS_DB_PASSWORD, APPOINTMENTS_DB_PASSWORD,
-- MATCHING_DB_PASSWORD, OCCUPANCY_DB_PASSWORD. Running it again is safe (it resets passwords).
\set ON_ERROR_STOP on

\getenv customers_password CUSTOMERS_DB_PASSWORD
\getenv points_password POINTS_DB_PASSWORD
\getenv appointments_password APPOINTMENTS_DB_PASSWORD
\getenv matching_password MATCHING_DB_PASSWORD
\getenv occupancy_password OCCUPANCY_DB_PASSWORD

CREATE TEMPORARY TABLE platform_service (name text PRIMARY KEY, password text NOT NULL);
INSERT INTO platform_service VALUES
    ('customers', :'customers_password'),
    ('points', :'points_password'),
    ('appointments', :'appointments_password'),
    ('matching', :'matching_password'),
    ('occupancy', :'occupancy_password');

-- Only the roles granted below may connect; nobody may use the public schema.
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database()) \gexec
REVOKE ALL ON SCHEMA public FROM PUBLIC;

SELECT format('CREATE ROLE %I', name) FROM platform_service
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name) \gexec

SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', name, password)
FROM platform_service \gexec

SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), name)
FROM platform_service \gexec

-- The role owns its schema, hence every table its migrations create there.
SELECT format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', name, name)
FROM platform_service \gexec
SELECT format('ALTER SCHEMA %I OWNER TO %I', name, name) FROM platform_service \gexec

DROP TABLE platform_service;
