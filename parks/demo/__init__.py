"""The demo world: parks, enterprises, warehouses, stock, listings, needs and logins that
``manage.py seed_demo`` builds (see parks.demo.world)."""
