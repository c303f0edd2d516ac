"""The shared kernel of the module services: only what every module needs in the same way.

- `versioning`: the openEHR versioning domain (version uids, audits, lifecycle, change types).
- `store`: the append-only versioned store with its per-module search index (SQLAlchemy).
- `search`: declaring a module's search index fields.
- `errors`: the one error model and its FastAPI exception handlers.
- `http`: ETag / If-Match / Prefer / Location helpers.
- `templates`: the template registry and the validator port.
- `ehr_directory`: the client that asks demographics whether an EHR exists and may be written to.
- `compositions`: the composition use cases and the shared router of the clinical modules.
- `openehr_json`: versions as ORIGINAL_VERSION / AUDIT_DETAILS / REVISION_HISTORY_ITEM JSON.
- `service_app`: what every app has: error handlers, /health, /ready, template definitions.
- `schema`, `database`, `migrations`, `settings`: tables, engines, Alembic and the settings base.
- `testing`: fresh throwaway databases for tests (SQLite and PostgreSQL).
"""
