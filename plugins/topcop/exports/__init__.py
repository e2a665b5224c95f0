"""SDMX exports: the warehouse's current figures in the standard our partners exchange.

``design`` says what the structures hold (from the codelists, the one source of
truth), ``artefacts`` turns that into pysdmx objects, ``versions`` issues a new
structure version whenever the design changes, ``observations`` reads each
edition's figures through the report's own queries and suppression, ``messages``
writes SDMX-ML and SDMX-CSV files, ``location`` puts them in a folder or on S3
and ``build`` ties it together for the DAG and the ``topcop export`` command.
"""
