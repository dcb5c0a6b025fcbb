"""HTML pages of the billing app: the catalogue (catalogue.py) and purchase orders (orders.py)."""
