"""Console: the web page and REST API (FastAPI) over the report engine, with authentication.
Imports reports, pricing, store, usage and errors; computes nothing itself.
"""
