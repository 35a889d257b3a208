"""The identity services an app keeps for its lifetime: Entra's token validator and the Graph token clients."""

from flask import Flask

from . import graph_tokens, request


def init_app(app: Flask) -> None:
    request.init_app(app)
    graph_tokens.init_app(app)
