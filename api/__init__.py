"""The HTTP API and the web page: a thin layer over the one `QAService`.

`api.main.create_app` builds the FastAPI application; the routers in `api.routers` call
the same service methods as the `qa` command, so the two can never disagree.
"""
