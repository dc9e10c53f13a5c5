"""grc: multi-tenant REST API for ISO management-system certification and ISO 31000 risk registers.

The application is assembled in ``grc.app.create_app``; docs/ARCHITECTURE.md draws the layers.
"""
