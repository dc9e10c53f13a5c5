"""WSGI entry point for gunicorn: ``gunicorn -c docker/gunicorn.conf.py grc.wsgi:app``."""
from grc.app import create_app

app = create_app()
