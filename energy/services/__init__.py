"""Every write of the energy app, one transaction and one audit row each:

* ``meters``: meters and output values (an enterprise's admin's writes);
* ``ingest``: readings in bulk (``readings_ingest``), with their rollups and jump flags;
* ``factors``: the conversion factors (superusers), repricing the rollups they cover.
"""
