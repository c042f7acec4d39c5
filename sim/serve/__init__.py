"""`ccsim serve`: the what-if page, a local web app over the API (see sim/serve/app.py)."""
