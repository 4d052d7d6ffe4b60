"""Reference data shipped as code: the material catalogue and the GB 18218-2018 tables.

Loaded into the database by ``manage.py seed_demo`` (materials by CAS, or by English name
for the few without one); the database rows stay editable in the admin.
"""
