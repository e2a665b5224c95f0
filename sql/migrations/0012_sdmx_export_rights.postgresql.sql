-- SDMX exports are history like report builds: the loader adds rows, never changes them.
REVOKE UPDATE, DELETE ON sdmx_structure, sdmx_export, sdmx_export_submission FROM topcop_loader;
