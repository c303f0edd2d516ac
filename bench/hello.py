"""The same-run baseline: a FastAPI hello-world, served exactly like the modules are."""

from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/hello")
    async def hello() -> dict:
        return {"hello": "world"}

    return app
