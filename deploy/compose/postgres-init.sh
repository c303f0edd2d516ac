#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d):
# one role and one database per module. Each role owns its database and may connect to no other,
# so "no module reads another module's tables" holds at the database level too.
set -eu
for module in demographics journal medication referrals; do
    password_var="$(echo "${module}" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
    eval "password=\${${password_var}:?${password_var} is not set}"
    psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER}" --dbname postgres \
        -v module="${module}" -v password="${password}" <<'SQL'
CREATE ROLE :"module" LOGIN PASSWORD :'password';
CREATE DATABASE :"module" OWNER :"module";
REVOKE ALL ON DATABASE :"module" FROM PUBLIC;
SQL
done
